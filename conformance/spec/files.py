"""Where the contract's files are.

The repository keeps them in the top-level ``openapi/`` folder; a built wheel carries the same files as
``conformance/_contract``. An installed package reads its own copy, a source checkout (or an editable
install, which hatchling serves from the source tree) reads the folder.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def contract_dir() -> Path:
    bundled = _PACKAGE_DIR / "_contract"
    if bundled.is_dir():
        return bundled
    return _PACKAGE_DIR.parent / "openapi"


STRICT_DOCUMENT = "stop-task-group.yaml"
REQUIREMENTS = "requirements.yaml"
ERRATA = "errata.yaml"


def profile_patch_name(profile: str) -> str:
    """A profile's merge patch, relative to the contract's folder."""
    return f"profiles/{profile}.merge-patch.yaml"


def profile_patch(profile: str) -> Path:
    return contract_dir() / profile_patch_name(profile)

"""Reading files the toolkit is handed (target, fixtures, baseline, a saved run) or ships (the contract).

One place turns every way a read can fail - missing, unreadable, not UTF-8, not YAML - into one line that
names the file, raised as the error kind the caller's layer uses (ConfigError, or SpecError for the contract).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from conformance.errors import ConfigError, ConformanceError


def read_text(path: str | Path, what: str, error: type[ConformanceError] = ConfigError) -> str:
    where = f"{what} {str(path)!r}"
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{where}: cannot read it ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise error(f"{where}: not UTF-8 text") from exc


def read_yaml(path: str | Path, what: str, error: type[ConformanceError] = ConfigError) -> Any:
    text = read_text(path, what, error)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise error(f"{what} {str(path)!r}: not valid YAML{at}") from exc

"""The reference server: an implementation of the OMS stop operation that conforms to the contract.

It exists so the toolkit has something correct to run against (the embedded default target of ``run`` and
the pytest plugin), so client authors can test against it without a cloud account (with injected faults if
they like), and as the baseline of the benchmark. Layers: fixtures -> store (SQLite) -> auth -> app (raw
ASGI) -> runner (uvicorn). It imports nothing from the checks, runner or reports.

Public API::

    create_app(profile="strict", fixtures=None, db_path=None, settle_delay=0.0, faults=()) -> ReferenceApp
    ReferenceServer(profile="strict", fixtures=None, db_path=None, settle_delay=0.0, faults=(),
                    *, host="127.0.0.1", port=0)   # context manager: .base_url, .target, .app
    default_fixtures() / load_fixtures(path) / parse_fixtures(data) -> Fixtures
    parse_faults(specs) -> Faults

The default credentials (public sandbox values) are listed in :mod:`conformance.server.fixtures`; the
status codes and error codes of every answer in :mod:`conformance.server.responses`; the fault SPEC
syntax in :mod:`conformance.server.faults`.
"""

from conformance.server.app import ReferenceApp
from conformance.server.faults import Faults, parse_faults
from conformance.server.fixtures import (
    AkSkFixture,
    Fixtures,
    ProjectFixture,
    TokenFixture,
    default_fixtures,
    generated_group_id,
    load_fixtures,
    parse_fixtures,
)
from conformance.server.serving import ReferenceServer, build_target, create_app
from conformance.spec import PROFILES

__all__ = [
    "PROFILES",
    "AkSkFixture",
    "Faults",
    "Fixtures",
    "ProjectFixture",
    "ReferenceApp",
    "ReferenceServer",
    "TokenFixture",
    "build_target",
    "create_app",
    "default_fixtures",
    "generated_group_id",
    "load_fixtures",
    "parse_faults",
    "parse_fixtures",
]

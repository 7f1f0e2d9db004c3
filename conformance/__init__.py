"""oms-conformance: conformance testing for Huawei Cloud OMS "Pausing a Migration Task Group".

The pipeline: spec (the contract) -> target (what to test) -> checks -> runner -> reports, with the
reference server beside it. This module is the public API; everything not in ``__all__`` is private.
"""

from conformance._version import __version__
from conformance.errors import (
    ConfigError,
    ConformanceError,
    ExitCode,
    SpecError,
    TargetUnreachable,
    UsageError,
)
from conformance.results import RunResult, Verdict
from conformance.runner.engine import RunOptions
from conformance.runner.session import run_suite
from conformance.spec import Contract, Erratum, Requirement, load_contract, load_errata, load_requirements
from conformance.target import AkSk, Project, Target, dump_target, load_target, parse_target

__all__ = [
    "AkSk",
    "ConfigError",
    "ConformanceError",
    "Contract",
    "Erratum",
    "ExitCode",
    "Project",
    "Requirement",
    "RunOptions",
    "RunResult",
    "SpecError",
    "Target",
    "TargetUnreachable",
    "UsageError",
    "Verdict",
    "__version__",
    "dump_target",
    "load_contract",
    "load_errata",
    "load_requirements",
    "load_target",
    "parse_target",
    "run_suite",
]

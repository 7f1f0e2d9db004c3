"""oms-conformance: conformance testing for Huawei Cloud OMS "Pausing a Migration Task Group".

The pipeline: spec (the contract) -> target (what to test) -> checks -> runner -> reports, with the
reference server beside it. This module is the public API; everything not in ``__all__`` is private.
"""

from conformance.errors import (
    ConfigError,
    ConformanceError,
    ExitCode,
    SpecError,
    TargetUnreachable,
    UsageError,
)
from conformance.spec import Contract, Erratum, Requirement, load_contract, load_errata, load_requirements
from conformance.target import AkSk, Project, Target, dump_target, load_target, parse_target

__version__ = "0.1.0"

__all__ = [
    "AkSk",
    "ConfigError",
    "ConformanceError",
    "Contract",
    "Erratum",
    "ExitCode",
    "Project",
    "Requirement",
    "SpecError",
    "Target",
    "TargetUnreachable",
    "UsageError",
    "__version__",
    "dump_target",
    "load_contract",
    "load_errata",
    "load_requirements",
    "load_target",
    "parse_target",
]

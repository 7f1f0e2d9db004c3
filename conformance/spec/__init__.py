"""The contract: the OpenAPI documents, their profiles, the requirement catalogue and the page's errata."""

from conformance.spec.catalogue import Erratum, Requirement, load_errata, load_requirements
from conformance.spec.documents import PROFILES, Contract, Profile, load_contract

__all__ = [
    "PROFILES",
    "Contract",
    "Erratum",
    "Profile",
    "Requirement",
    "load_contract",
    "load_errata",
    "load_requirements",
]

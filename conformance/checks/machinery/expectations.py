"""What the contract allows as an answer in situations the checks create, derived from the loaded document.

The page documents 200, 400 and 403; a profile may document more (the huawei gateway's 401). Where the
contract allows two behaviours - authentication before or after parameter validation, 403 to hide whether a
group exists - both are accepted here, so no check raises a false alarm over a legal choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.spec import Contract


@dataclass(frozen=True)
class Expectations:
    contract: Contract

    @property
    def auth_refused(self) -> frozenset[int]:
        """How a missing, malformed or invalid credential may be refused: 400 or 403, and 401 where the
        profile documents the gateway's own refusal."""
        return frozenset({400, 403}) | (frozenset({401}) & self.contract.documented_statuses())

    @property
    def foreign_project(self) -> frozenset[int]:
        """How a valid credential used on a project that is not its own may be refused: 400 or 403, and on
        the platform the gateway may refuse the token's scope itself (401)."""
        return self.auth_refused

    @property
    def unknown_group(self) -> frozenset[int]:
        """How a valid request for a group that does not exist may be answered (400; 403 hides existence)."""
        return frozenset({400, 403})

    @property
    def gateway_404(self) -> frozenset[int]:
        """A 404 where the profile documents one: the platform's gateway answers unknown routes itself (an
        empty or oddly encoded segment may not reach the operation at all)."""
        return frozenset({404}) & self.contract.documented_statuses()

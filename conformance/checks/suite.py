"""The built-in suite: every check the toolkit runs, in the order it runs them, written down in one place.

The response oracles come first (they judge every answer, whichever scenario received it); the scenarios
follow, the ones that need no fixtures before the ones that use up listed task groups.
"""

from __future__ import annotations

from conformance.checks import auth, boundaries, fuzz, lookalike, methods, oracles, robustness, state
from conformance.checks.registry import Registry

BUILTIN = Registry(
    [
        # Response oracles.
        oracles.documented_status,
        oracles.error_envelope,
        oracles.success_body,
        oracles.no_server_error,
        oracles.no_credential_echo,
        oracles.timely,
        oracles.request_id,
        oracles.gateway_401,
        # Scenarios.
        auth.authn_refused,
        auth.authn_no_pause,
        auth.authz_other_project,
        auth.permission,
        auth.header_case,
        auth.aksk_signature,
        boundaries.group_id_length,
        boundaries.project_id_length,
        boundaries.token_length,
        fuzz.fuzz,
        methods.other_methods,
        methods.operation,
        robustness.hostile_ids,
        state.precondition,
        state.unknown_group,
        state.neighbour_ids,
        lookalike.lookalike_ids,
        lookalike.lookalike_tokens,
        state.effect,
        state.concurrency,
        state.show_status,
    ]
)

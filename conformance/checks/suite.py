"""The built-in suite: every check the toolkit runs, in the order it runs them, written down in one place.

The response oracles come first (they judge every answer, whichever scenario received it); the scenarios
follow: those that need no fixtures, then those that share the keeper group, then those that pause listed
groups in order of importance (machinery/pool.py explains why this order is what makes three groups enough).
"""

from __future__ import annotations

from conformance.checks import (
    auth,
    boundaries,
    concurrency,
    connection_state,
    fuzz,
    inner_limits,
    joined_paths,
    lasting,
    lookalike,
    methods,
    oracles,
    precondition,
    robustness,
    state,
    stateful,
)
from conformance.checks.machinery.registry import Registry

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
        # Scenarios that need no fixtures.
        methods.operation,
        auth.authn_refused,
        boundaries.group_id_length,
        boundaries.project_id_length,
        boundaries.token_length,
        inner_limits.limits_inside,
        state.unknown_group,
        robustness.hostile_ids,
        fuzz.fuzz,
        # Scenarios whose requests must leave a listed group pausable: they share the pool's keeper.
        auth.authn_no_pause,
        auth.permission,
        auth.authz_other_project,
        methods.other_methods,
        state.neighbour_ids,
        lookalike.lookalike_ids,
        lookalike.lookalike_projects,
        lookalike.lookalike_tokens,
        connection_state.connection_state,
        joined_paths.joined_segments,
        # Scenarios that pause listed groups, most important first: a short list loses the last ones.
        # The concurrency check's race carries the keeper's first stop (concurrency.keeper_to_race), which the
        # effect check then judges as its own: it pauses the keeper, settling what the checks above deferred.
        concurrency.concurrency,
        state.effect,
        auth.aksk_signature,  # huawei only; there header-case reads instead of pausing
        auth.header_case,
        precondition.precondition,
        precondition.refusal_unchanged,  # huawei: reads again the groups whose stops precondition refused
        state.show_status,
        stateful.stateful,  # huawei: cycles two groups with start and gives them back pausable
        # Last: the groups paused above, looked at again (a pause that reverted is a failed pause).
        lasting.effect_lasts,
    ]
)

"""One answer through the response checks: the one loop both the runner (runner/answers.py) and the
validating proxy (proxy/rules.py) judge answers with, so that an answer is judged alike wherever it is seen.

What differs between them is a property of the answer or of the check, never a check's name written in:
the proxy judges an answer to a path outside the contract only by the checks that judge any path
(``CheckEntry.any_path``: it selects them), and an answer the client forced (``Sent.forced_status``) is the
oracles' to excuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from conformance.checks.machinery.base import Finding, OracleContext, Sent
from conformance.checks.machinery.recorder import requirement_of
from conformance.checks.machinery.registry import CheckEntry


def judge_answer(
    specs: Iterable[CheckEntry], context: OracleContext, sent: Sent
) -> list[tuple[CheckEntry, Finding]]:
    """The findings of the response checks ``specs`` on one answer, each with its requirement resolved
    (from the check's declaration when it names none) and the answer as its evidence."""
    found = []
    for spec in specs:
        finding = spec.fn(context, sent)
        if finding is not None:
            requirement = requirement_of(spec.name, spec.requirements, finding.requirement)
            found.append((spec, replace(finding, requirement=requirement, sent=sent)))
    return found

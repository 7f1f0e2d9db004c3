"""``run --plan``: what a run would verify and which listed groups it would pause, sending nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from click.testing import CliRunner

from conformance.cli import main
from conformance.runner.plan import plan_run
from conformance.spec import Profile
from conformance.target import parse_target


def target(pausable: int, **extra: Any) -> Any:
    monitoring = [f"g-mon-{i}" for i in range(pausable)]
    return parse_target(
        {
            "base_url": "http://127.0.0.1:9",  # nothing listens: the plan must not need it
            "project_id": "p1",
            "token": "MIItoken-main-0000000000000000",
            "groups": {"monitoring": monitoring, "paused": ["g-paused"]} if pausable else {"paused": ["g-p"]},
            **extra,
        },
        env={},
    )


def lines(pausable: int, profile: Profile = Profile.STRICT) -> dict[str, str]:
    return {line.check: line.how for line in plan_run(target(pausable), profile, [], [])}


def test_three_groups_are_the_keeper_then_effect_concurrency_and_header_case() -> None:
    plan = lines(3)
    assert plan["authn-no-pause"].startswith("runs on the shared keeper group #1")
    assert plan["effect"] == "pauses group #1"
    assert plan["concurrency"].startswith("pauses group #2")
    assert "first stop, of group #1, is released with them" in plan["concurrency"]  # no extra fixture
    assert "pauses group #3" in plan["header-case"]
    assert plan["effect-lasts"].startswith("runs last; stops (each must be refused: 400) the groups paused")
    assert "none of its own" in plan["effect-lasts"]


def test_a_short_list_loses_the_least_important_checks_first() -> None:
    one = lines(1)
    assert one["effect"] == "pauses group #1"
    assert one["concurrency"].startswith("not run: needs 1 more")
    assert "runs without pausing" in one["header-case"]
    none = lines(0)
    assert none["effect"].startswith("not run")
    assert none["effect-lasts"].startswith("not run")


def test_huawei_reads_instead_of_pausing_for_header_case() -> None:
    plan = lines(3, Profile.HUAWEI)
    assert "reads a listed group" in plan["header-case"]


def test_the_cli_plan_sends_nothing_and_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "base_url: http://127.0.0.1:9\nproject_id: p1\ntoken: MIItoken-main-0000000000000000\n"
        "groups: {monitoring: [a, b], creating: [c]}\n"
    )
    result = CliRunner().invoke(main, ["run", "--plan", "--target", str(path)])
    assert result.exit_code == 0, result.output
    assert "3 listed creating/monitoring groups" in result.output
    assert "MIItoken" not in result.output


def test_the_plan_and_the_run_name_every_listed_group_that_may_pause_the_other_projects_too(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "base_url: http://127.0.0.1:9\nproject_id: p1\ntoken: MIItoken-main-0000000000000000\n"
        "groups: {monitoring: [g-mon], creating: [g-cre], completed: [g-done]}\n"
        "other_project: {project_id: p2, token: MIItoken-other-000000000000000,\n"
        "  groups: {monitoring: [o-mon]}}\n"
    )
    plan = CliRunner().invoke(main, ["run", "--plan", "--target", str(path)])
    assert plan.exit_code == 0, plan.output
    named = [line for line in plan.output.splitlines() if line.startswith("  p")]
    assert any("p1, creating/monitoring" in line and "g-cre" in line and "g-mon" in line for line in named)
    assert any("p1, other statuses" in line and "g-done" in line for line in named)
    assert any("p2 (the other project)" in line and "o-mon" in line for line in named)
    # The run says it too, before it sends anything (nothing listens on port 9: the run stops at once).
    run = CliRunner().invoke(main, ["run", "--target", str(path), "--report-dir", str(tmp_path / "r")])
    assert "p2 (the other project)" in run.output and "o-mon" in run.output, run.output
    assert "MIItoken" not in plan.output + run.output


def test_a_target_without_groups_says_the_run_may_pause_none() -> None:
    from conformance.runner.plan import may_pause

    bare = parse_target({"base_url": "http://h", "project_id": "p1", "token": "t" * 20}, env={})
    assert may_pause(bare) == ["listed groups this run may pause: none (the target file lists none)"]

"""The target file: one loader, a clear error naming the key for every problem, secrets from ${VAR}."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.errors import ConfigError
from conformance.target import dump_target, load_target, parse_target

VALID: dict[str, Any] = {
    "base_url": "https://oms.cn-north-4.myhuaweicloud.com/",
    "project_id": "f4e146cac1de45669c3fed73dc3b9c6f",
    "token": "${OMS_TOKEN}",
    "profile": "strict",
    "groups": {"monitoring": ["g1", "g2"], "paused": ["g3"]},
    "other_project": {"project_id": "p2", "token": "t2", "groups": {"creating": ["g9"]}},
}


def test_valid_target_expands_the_environment() -> None:
    target = parse_target(VALID, env={"OMS_TOKEN": "secret-token"})
    assert target.base_url == "https://oms.cn-north-4.myhuaweicloud.com"
    assert target.project.token == "secret-token"
    assert target.project.groups_in("monitoring") == ["g1", "g2"]
    assert target.listed_group_ids() == {"g1", "g2", "g3", "g9"}
    assert "secret-token" not in repr(target) and "secret-token" not in str(target.describe())


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"base_url": None}, "base_url: missing"),
        ({"base_url": "ftp://x"}, "base_url: expected an http"),
        ({"base_url": "https://admin:hunter2@oms.test"}, "base_url: must not carry user:password@"),
        ({"project_id": 3.5}, "project_id: expected a string"),
        ({"token": None}, "token: missing (give `token` or `aksk`)"),
        ({"profile": "lenient"}, "profile: expected strict or huawei"),
        ({"groups": {"running": ["x"]}}, "groups.running: unknown status name"),
        ({"groups": {"paused": "g3"}}, "groups.paused: expected a list"),
        ({"groups": {"paused": ["g1"], "monitoring": ["g1"]}}, "listed twice"),
        ({"colour": "blue"}, "colour: unknown key"),
        ({"aksk": {"ak": "a"}}, "aksk.sk: missing"),
        ({"other_project": {"project_id": "p2"}}, "other_project.token: missing"),
        ({"other_project": {"project_id": "f4e146cac1de45669c3fed73dc3b9c6f", "token": "t"}}, "must differ"),
        ({"other_project": {"project_id": "p2", "token": "t", "groups": {"paused": ["g3"]}}}, "also listed"),
        ({"token": "${NOPE}"}, "token: environment variable ${NOPE} is not set"),
    ],
)
def test_every_problem_names_the_key(change: dict[str, Any], key: str) -> None:
    data = {**VALID, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        parse_target(data, env={"OMS_TOKEN": "t"})
    assert key in info.value.message


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_target(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("base_url: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_target(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_target(bad)


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    target = parse_target({**VALID, "aksk": {"ak": "AK", "sk": "SK1234"}}, env={"OMS_TOKEN": "tok"})
    path = tmp_path / "target.yaml"
    path.write_text(dump_target(target))
    assert load_target(path, env={}) == target

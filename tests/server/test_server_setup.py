"""Fixtures, persistence, target files and fault specs: the server's set-up, without a socket."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import yaml

import conformance.server as server_api
from conformance.errors import ConfigError, UsageError
from conformance.server import (
    Faults,
    build_target,
    create_app,
    default_fixtures,
    generated_group_id,
    load_fixtures,
    parse_faults,
    parse_fixtures,
)
from conformance.server.faults import Dice, prefer_code
from conformance.server.store import Durability, Store
from conformance.spec.statuses import PAUSABLE, STATUS_CODES
from conformance.target import dump_target, load_target, parse_target
from tests.server.conftest import MAIN, OTHER, TOKEN, call, stop_path

UUID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}")


def test_public_api_is_sorted_and_importable() -> None:
    assert server_api.__all__ == sorted(server_api.__all__, key=lambda n: (not n.isupper(), n))
    for name in server_api.__all__:
        assert getattr(server_api, name) is not None


def test_default_fixtures_cover_every_status_in_two_projects() -> None:
    app = create_app()
    try:
        target = build_target(app, "http://127.0.0.1:1")
    finally:
        app.close()
    assert target.other_project is not None
    for project in (target.project, target.other_project):
        assert set(project.groups) == set(STATUS_CODES)
        assert project.token and project.aksk
        assert all(UUID_LIKE.fullmatch(g) for g in project.group_ids())
    assert len(target.project.groups["creating"]) >= 8 and len(target.project.groups["monitoring"]) >= 8
    assert all(len(target.other_project.groups[name]) >= 1 for name in PAUSABLE)
    assert target.project.groups["monitoring"][0] == generated_group_id(2, 0, 0)
    assert target.project.project_id == MAIN and target.other_project.project_id == OTHER


def test_write_target_output_loads(tmp_path: Path) -> None:
    app = create_app("huawei")
    try:
        text = dump_target(build_target(app, "http://127.0.0.1:8080"))
    finally:
        app.close()
    path = tmp_path / "target.yaml"
    path.write_text(text)
    target = load_target(path, env={})
    assert target.profile == "huawei" and target.project.token == TOKEN
    assert len(target.listed_group_ids()) == (12 + 12 + 8 * 2) + (2 + 2 + 8 * 1)


def test_state_survives_a_restart_and_fixtures_load_only_once(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    first = create_app(db_path=db, settle_delay=3600)
    assert first.fixtures_loaded
    assert call(first, "PUT", stop_path(generated_group_id(2, 0, 0))).status == 200
    first.close()
    custom = tmp_path / "other.yaml"
    custom.write_text("projects:\n  - {project_id: p, tokens: [t]}\n")
    again = create_app(db_path=db, fixtures=custom, settle_delay=3600)
    try:
        assert not again.fixtures_loaded
        assert again.store.status(MAIN, generated_group_id(2, 0, 0)) == 7  # still pausing, due in an hour
        assert call(again, "PUT", stop_path(generated_group_id(2, 0, 0))).error_code == "OMS.0066"
        assert build_target(again, "http://h:1").project.project_id == MAIN
    finally:
        again.close()
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_file_that_is_not_a_db_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "not.db"
    bad.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(ConfigError, match="cannot use it as the server's SQLite database"):
        create_app(db_path=bad)


def test_fixture_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "fx.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "projects": [
                    {
                        "project_id": "p1",
                        "tokens": ["tok-1", {"token": "tok-ro", "permissions": ["oms:taskgroup:get"]}],
                        "aksk": [{"ak": "AK1", "sk": "SK1", "security_token": "ST1"}],
                        "groups": {"monitoring": ["g-1", "g-2"], "paused": ["g-3"]},
                        "generate": {"creating": 3},
                    },
                    {"project_id": "p2", "aksk": [{"ak": "AK2", "sk": "SK2"}]},
                ]
            }
        )
    )
    app = create_app(fixtures=path)
    try:
        assert call(app, "PUT", "/v2/p1/taskgroups/g-1/stop", token="tok-1").status == 200
        assert call(app, "PUT", "/v2/p1/taskgroups/g-2/stop", token="tok-ro").status == 403
        target = build_target(app, "http://h:1")  # current states: g-1 is paused now
    finally:
        app.close()
    assert target.project.groups["monitoring"] == ("g-2",) and target.project.groups["paused"] == (
        "g-1",
        "g-3",
    )
    assert target.project.groups["creating"] == tuple(generated_group_id(1, 0, n) for n in range(3))
    assert target.project.aksk is not None and target.project.aksk.security_token == "ST1"
    assert target.other_project is not None and target.other_project.token is None
    assert parse_target(yaml.safe_load(dump_target(target)), env={}) == target


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "fixtures: expected a mapping with the single key projects, found an empty list"),
        ({"projects": []}, r"projects: expected a non-empty list of projects .*, found an empty list"),
        ({"projects": ["p"]}, r"projects\[0\]: expected a mapping with project_id, .*, found 'p'"),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "colour": 1}]},
            r"projects\[0\]\.colour: expected one of the keys aksk, generate, groups, "
            r"project_id, tokens, found an unknown key",
        ),
        (
            {"projects": [{"tokens": ["t"]}]},
            r"projects\[0\]\.project_id: expected a project id \(a string of 1\.\.1024 "
            r"characters\), found nothing",
        ),
        (
            {"projects": [{"project_id": "p"}]},
            r"projects\[0\]: expected a token or aksk with oms:taskgroup:update, found no credential with it",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["a b"]}]},
            r"tokens\[0\]: expected a token \(1\.\.16384 visible ASCII characters, no spaces\), "
            r"found a string \(not shown: a secret\)",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "groups": {"running": ["g"]}}]},
            r"groups\.running: expected a status name \(one of: waiting, .*\), found an unknown name",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "groups": {"paused": "g"}}]},
            r"groups\.paused: expected a list of group ids, found 'g'",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "groups": {"paused": ["g", "g"]}}]},
            r"projects\[0\]\.groups: expected each value listed once, found 'g' listed twice",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "generate": {"paused": -1}}]},
            r"generate\.paused: expected a count 0\.\.10000000 .*, found -1",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "aksk": [{"ak": "A"}]}]},
            r"aksk\[0\]\.sk: expected a secret access key .*, found nothing \(the key is missing\)",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"]}, {"project_id": "q", "tokens": ["t"]}]},
            r"projects\[\]\.tokens: expected each value listed once, found a token listed twice \(not shown",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"]}, {"project_id": "p", "tokens": ["u"]}]},
            r"projects\[\]\.project_id: expected each value listed once, found 'p' listed twice",
        ),
    ],
)
def test_bad_fixtures_name_the_key(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_fixtures(data)


def test_bad_fixture_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_fixtures(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("projects: [\n")
    with pytest.raises(ConfigError, match=r"broken.yaml'.*not valid YAML at line"):
        load_fixtures(broken)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_fixtures(binary)
    clash = tmp_path / "clash.yaml"
    clash.write_text(
        "projects:\n  - project_id: p\n    tokens: [t]\n"
        f"    groups: {{paused: ['{generated_group_id(3, 0, 0)}']}}\n    generate: {{paused: 1}}\n"
    )
    with pytest.raises(ConfigError, match="used twice"):
        create_app(fixtures=clash)


def test_settle_delay_must_not_be_negative() -> None:
    with pytest.raises(ConfigError, match="settle delay"):
        Store(settle_delay=-1)


def test_default_fixture_secrets_are_documented() -> None:
    doc = server_api.fixtures.__doc__ or ""
    for project in default_fixtures().projects:
        for token in project.tokens:
            assert token.token in doc
        for key in project.aksk:
            assert key.ak in doc and key.sk in doc


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["latency=50ms"], Faults(latency=(0.05, 0.05))),
        (["latency=10ms..0.2s"], Faults(latency=(0.01, 0.2))),
        (["status=429@0.2", "status=503@5%"], Faults(statuses=((429, 0.2), (503, 0.05)))),
        (["malformed@1", "truncate@0.5", "drop@10%"], Faults(malformed=1.0, truncate=0.5, drop=0.1)),
        ([" prefer ", "seed=7"], Faults(prefer=True, seed=7)),
        ([], Faults()),
    ],
)
def test_fault_specs_parse(specs: list[str], expected: Faults) -> None:
    assert parse_faults(specs) == expected


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("latency=50", "not a fault"),
        ("latency=200ms..10ms", "low..high"),
        ("status=404@0.5", "one of 429, 500, 503"),
        ("status=429", "not a fault"),
        ("drop@0", r"in \(0, 1\]"),
        ("drop@150%", r"in \(0, 1\]"),
        ("explode", "not a fault"),
    ],
)
def test_bad_fault_specs_name_the_spec(spec: str, why: str) -> None:
    with pytest.raises(
        UsageError, match=rf"--fault {re.escape(repr(spec))}: .*{why}.*expected one of: latency="
    ):
        parse_faults([spec])


def test_seeded_dice_repeat_and_seedless_faults_are_inactive() -> None:
    faults = parse_faults(["status=500@0.5", "seed=3"])
    first, second = Dice(faults), Dice(faults)
    rolls = [first.forced_status() for _ in range(50)]
    assert rolls == [second.forced_status() for _ in range(50)]
    assert set(rolls) == {500, None}
    assert not parse_faults(["seed=3"]).active and faults.active


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (b"code=403", 403),
        (b"respond-async, code=401; x=1", 401),
        (b'CODE="418"', 418),
        (b"code=4033", -1),
        (b"code=", -1),
        (b"wait=10", None),
        (b"", None),
    ],
)
def test_prefer_header_parsing(value: bytes, code: int | None) -> None:
    assert prefer_code(value) == code


def test_a_db_file_belongs_to_one_server_at_a_time(tmp_path: Path) -> None:
    first = create_app(db_path=tmp_path / "state.db")
    try:
        with pytest.raises(ConfigError, match="database is locked - is another server using it"):
            Store(tmp_path / "state.db")
    finally:
        first.close()
    Store(tmp_path / "state.db").close()


@pytest.mark.parametrize(
    ("durability", "synchronous"), [(Durability.PROCESS, 0), (Durability.MACHINE, 2)]
)  # 0: OFF - never fsync (survives the process, tested by the kill -9 test); 2: FULL - fsync every commit
def test_durability_sets_what_a_commit_waits_for(
    tmp_path: Path, durability: Durability, synchronous: int
) -> None:
    store = Store(tmp_path / "state.db", durability=durability)
    try:
        assert store._db.execute("PRAGMA synchronous").fetchone()[0] == synchronous
        assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_serve_offers_both_durabilities() -> None:
    from click.testing import CliRunner

    from conformance.cli import main

    result = CliRunner().invoke(main, ["serve", "--durability", "disk"])
    assert result.exit_code == 2
    assert "'process'" in result.output and "'machine'" in result.output
    without_db = CliRunner().invoke(main, ["serve", "--durability", "machine"])
    assert without_db.exit_code == 2
    assert "--durability: applies to a file db; add --db PATH" in without_db.output

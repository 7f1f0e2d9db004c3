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
        (
            {"base_url": None},
            "base_url: expected an http:// or https:// URL, found nothing (the key is missing)",
        ),
        ({"base_url": "ftp://x"}, "base_url: expected an http:// or https:// URL, found 'ftp://x'"),
        (
            {"base_url": "https://admin:hunter2@oms.test"},
            "base_url: expected a URL without user:password@ (give the credential as token or aksk), "
            "found a URL with user info (not shown)",
        ),
        ({"project_id": 3.5}, "project_id: expected a project id (a non-empty string), found 3.5"),
        ({"token": None}, "token: expected a credential: token, token_command or aksk, found none of them"),
        ({"profile": "lenient"}, "profile: expected a profile name: strict or huawei, found 'lenient'"),
        (
            {"groups": {"running": ["x"]}},
            "groups.running: expected a status name (one of: waiting, creating, monitoring, paused, "
            "create_failed, migrate_failed, completed, pausing, deleting, deleted), found an unknown name",
        ),
        ({"groups": {"paused": "g3"}}, "groups.paused: expected a list of group ids, found 'g3'"),
        ({"groups": {"paused": ["g3", 12.5]}}, "groups.paused[1]: expected a string group id, found 12.5"),
        (
            {"groups": {"paused": ["g1"], "monitoring": ["g1"]}},
            "groups.monitoring[0]: expected each group id listed once (a group has one status), "
            "found 'g1' listed twice (also under groups.paused)",
        ),
        ({"colour": "blue"}, "colour: expected one of the keys aksk, base_url, client_cert, client_key, "),
        ({"tokne": "t"}, "tokne: expected one of the keys aksk, base_url, client_cert, client_key, "),
        ({"tokne": "t"}, "found an unknown key (did you mean 'token'?)"),
        ({"aksk": {"ak": "a"}}, "aksk.sk: expected a secret access key (a non-empty string), found nothing"),
        (
            {"other_project": {"project_id": "p2"}},
            "other_project.token: expected a credential: token, token_command or aksk, found none of them",
        ),
        (
            {"other_project": {"project_id": "f4e146cac1de45669c3fed73dc3b9c6f", "token": "t"}},
            "other_project.project_id: expected a project id other than project_id, "
            "found the same 'f4e146cac1de45669c3fed73dc3b9c6f'",
        ),
        (
            {"other_project": {"project_id": "p2", "token": "t2", "groups": {"paused": ["g3"]}}},
            "other_project.groups: expected group ids of the other project only, found 'g3', "
            "also listed in groups",
        ),
        ({"token": "${NOPE}"}, "token: expected the environment variable ${NOPE} to be set, found it unset"),
        (
            {"settle_timeout": 0},
            "settle_timeout: expected seconds a status read after a stop or start may take to agree "
            "(more than 0, at most 60), found 0",
        ),
    ],
)
def test_every_problem_names_the_key(change: dict[str, Any], key: str) -> None:
    data = {**VALID, **change}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(ConfigError) as info:
        parse_target(data, env={"OMS_TOKEN": "t"})
    assert key in info.value.message
    assert info.value.message.startswith("target: ")  # one style: source, key path, expected, found


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read it"):
        load_target(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("base_url: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_target(bad)
    bad.write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"target file '.*bad\.yaml': expected a mapping .*, found a list"):
        load_target(bad)


def test_dump_and_load_round_trip(tmp_path: Path) -> None:
    target = parse_target({**VALID, "aksk": {"ak": "AK", "sk": "SK1234"}}, env={"OMS_TOKEN": "tok"})
    path = tmp_path / "target.yaml"
    path.write_text(dump_target(target))
    assert load_target(path, env={}) == target


def test_the_settle_timeout_bounds_reads_after_writes_and_survives_a_round_trip(tmp_path: Path) -> None:
    assert parse_target(VALID, env={"OMS_TOKEN": "t"}).settle_timeout == 5.0  # the default
    target = parse_target({**VALID, "settle_timeout": 12.5}, env={"OMS_TOKEN": "t"})
    assert target.settle_timeout == 12.5
    path = tmp_path / "target.yaml"
    path.write_text(dump_target(target))
    assert load_target(path, env={}) == target


RESTORE = {
    "dst_ak": "DSTAK000000000000001",
    "dst_sk": "${OMS_DST_SK}",
    "src_ak": "SRCAK000000000000001",
    "src_sk": "src-secret-key-0001",
    "src_crypto_type": "KMS",
    "src_kms_key_id": "0f4e3c1a-6b2d-4f7e-9a8b-1c2d3e4f5a6b",
    "connection_string": "DefaultEndpointsProtocol=https;AccountKey=abc123==",
}


def test_restore_keys_are_read_redacted_and_written_back(tmp_path: Path) -> None:
    from conformance.redact import Redactor
    from conformance.runner.config import secrets_of

    target = parse_target(
        {**VALID, "restore": RESTORE}, env={"OMS_TOKEN": "tok-1", "OMS_DST_SK": "dst-sk-0001"}
    )
    assert target.restore == {**RESTORE, "dst_sk": "dst-sk-0001"}
    secret_values = [v for k, v in target.restore.items() if k != "src_crypto_type"]
    assert set(secret_values) <= set(target.secrets())
    assert "KMS" not in target.secrets()  # a crypto type is not a secret (and would redact every "KMS")
    assert "dst-sk-0001" not in repr(target)
    placeholders = dict(secrets_of(target))
    assert placeholders["dst-sk-0001"] == "$OMS_RESTORE_DST_SK"
    assert placeholders[RESTORE["connection_string"]] == "$OMS_RESTORE_CONNECTION_STRING"
    line = "PUT .../start {" + ", ".join(f'"{k}": "{v}"' for k, v in target.restore.items()) + "}"
    redacted = Redactor(secrets_of(target)).text(line)
    assert not any(v in redacted for v in secret_values) and '"src_crypto_type": "KMS"' in redacted
    path = tmp_path / "target.yaml"
    path.write_text(dump_target(target))
    assert load_target(path, env={}) == target


def test_impossible_credential_pairs_are_refused() -> None:
    env = {"OMS_TOKEN": "tok-1"}
    cases = {
        "readonly_token": {**VALID, "readonly_token": "tok-1"},
        "other_project.token": {**VALID, "other_project": {"project_id": "p2", "token": "tok-1"}},
        "other_project.aksk.ak": {
            **VALID,
            "aksk": {"ak": "AK1", "sk": "SK1111"},
            "other_project": {"project_id": "p2", "aksk": {"ak": "AK1", "sk": "SK2222"}},
        },
    }
    for key, data in cases.items():
        with pytest.raises(ConfigError) as info:
            parse_target(data, env=env)
        assert info.value.message.startswith(f"target: {key}: expected "), info.value.message
        assert "tok-1" not in info.value.message


def test_client_certificate_and_proxy_keys(tmp_path: Path) -> None:
    """Paths relative to the file (as a token_command runs there), the key's password a secret from the
    environment, never shown; a proxy URL with a password refused without echoing it."""
    path = tmp_path / "target.yaml"
    data = {
        **VALID,
        "client_cert": "certs/client.crt",
        "client_key": "certs/client.key",
        "client_key_password": "${KEY_PASS}",
        "proxy": "http://proxy.internal:3128",
    }
    target = parse_target(data, env={"OMS_TOKEN": "t", "KEY_PASS": "pem-pass"}, base_dir=tmp_path)
    assert target.client_certificate is not None and target.proxy == "http://proxy.internal:3128"
    assert target.client_certificate.cert == str(tmp_path / "certs/client.crt")
    assert target.client_certificate.key == str(tmp_path / "certs/client.key")
    assert "pem-pass" in target.secrets()
    assert "pem-pass" not in repr(target) and "pem-pass" not in str(target.describe())
    assert target.describe()["client_certificate"] == str(tmp_path / "certs/client.crt")
    path.write_text(dump_target(target))
    assert load_target(path, env={}) == target
    with pytest.raises(ConfigError, match="client_key: expected client_cert beside it"):
        parse_target({**VALID, "client_key": "k.pem"}, env={"OMS_TOKEN": "t"})
    with pytest.raises(ConfigError, match="proxy") as refused:
        parse_target({**VALID, "proxy": "http://user:hunter2@proxy:3128"}, env={"OMS_TOKEN": "t"})
    assert "hunter2" not in refused.value.message
    with pytest.raises(ConfigError, match="proxy"):
        parse_target({**VALID, "proxy": "socks5://proxy:1080"}, env={"OMS_TOKEN": "t"})

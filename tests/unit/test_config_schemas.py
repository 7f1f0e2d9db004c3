"""The one validator of user-written YAML: shipped schemas, one error style, secrets never shown."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conformance.baseline import load_baseline, parse_baseline
from conformance.errors import ConfigError
from conformance.schemas import SCHEMAS, load_schema, schema_path, validate
from conformance.server.fixtures import parse_fixtures
from conformance.spec.statuses import STATUS_CODES
from conformance.target import dump_target, parse_target
from conformance.textfile import read_yaml

ROOT = Path(__file__).resolve().parents[2]
STYLE = re.compile(r"^[^:]+(: [\w.\[\]]+)?: expected .+, found .+$", re.DOTALL)


@pytest.mark.parametrize("name", SCHEMAS)
def test_each_shipped_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json.loads(schema_path(name).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_schemas_know_every_status_name() -> None:
    for name in ("target", "fixtures"):
        text = schema_path(name).read_text(encoding="utf-8")
        for status in STATUS_CODES:
            assert f'"{status}"' in text


def test_readme_examples_validate(tmp_path: Path) -> None:
    # The target example is in the README, token_command in docs/running.md, the baseline in docs/reports.md.
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    readme = "\n".join(path.read_text(encoding="utf-8") for path in docs)
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.DOTALL)
    target_text = next(b for b in blocks if b.startswith("base_url:"))
    baseline_text = next(b for b in blocks if b.startswith("version: 1"))
    # The target example holds placeholders ("[id, ...]"): the schema judges its shape as written.
    path = tmp_path / "target.yaml"
    path.write_text(target_text.replace("...", "'...'"), encoding="utf-8")
    validate(read_yaml(path, "target file"), "target", "README's target example")
    command_text = next(b for b in blocks if b.startswith("token_command:"))
    path.write_text(command_text.replace("...", "p-2"), encoding="utf-8")
    fragment = read_yaml(path, "target file")
    validate({"base_url": "https://x", "project_id": "p", **fragment}, "target", "README's token_command")
    path.write_text(baseline_text, encoding="utf-8")
    assert load_baseline(path).entries[0].requirement == "STOP-METHOD-ALLOW"


def test_the_reference_servers_target_validates() -> None:
    from conformance.server import ReferenceServer

    with ReferenceServer() as server:
        text = dump_target(server.target)
    validate(yaml.safe_load(text), "target", "written target")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"base_url": "http://x", "project_id": "p", "token": "t", "groups": {"monitoring": ["a", 12.5]}},
            "target: groups.monitoring[1]: expected a string group id, found 12.5",
        ),
        (
            {"projects": [{"project_id": "p", "tokens": ["t"], "generate": {"paused": "many"}}]},
            "fixtures: projects[0].generate.paused: expected a count 0..10000000",
        ),
        (
            {"known_failures": [{"requirement": "STOP-ROBUST", "reason": "r", "expires": 20261231}]},
            "baseline: known_failures[0].expires: expected a date YYYY-MM-DD, found 20261231",
        ),
    ],
)
def test_one_error_style_for_all_three_files(data: object, message: str) -> None:
    parse: dict[str, Callable[[Any], object]] = {
        "target": lambda d: parse_target(d, env={}),
        "fixtures": parse_fixtures,
        "baseline": parse_baseline,
    }
    with pytest.raises(ConfigError) as info:
        parse[message.split(":")[0]](data)
    assert info.value.message.startswith(message)
    assert STYLE.match(info.value.message), info.value.message


# A secret holds a character no error text does (real ones are random): else a drawn "tokens" or "project"
# would be "shown" by the message's own words, which say nothing of the secret.
SECRET = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=6, max_size=30
).filter(lambda s: any(c in "#$%&*@^|~" for c in s))


@given(secret=SECRET)
def test_a_secret_that_breaks_a_rule_is_never_shown(secret: str) -> None:
    bad_token = f"{secret} {secret}"  # a space: not a valid fixture token
    with pytest.raises(ConfigError) as info:
        parse_fixtures({"projects": [{"project_id": "p", "tokens": [bad_token]}]})
    assert secret not in info.value.message and "not shown: a secret" in info.value.message
    with pytest.raises(ConfigError) as info:
        parse_fixtures({"projects": [{"project_id": "p", "aksk": [{"ak": "A", "sk": secret * 200}]}]})
    assert secret not in info.value.message
    with pytest.raises(ConfigError) as info:
        parse_target(
            {"base_url": "http://x", "project_id": "p", "token": secret, "readonly_token": secret}, env={}
        )
    assert secret not in info.value.message


def test_restore_values_are_checked_and_never_shown() -> None:
    base = {"base_url": "http://x", "project_id": "p", "token": "tok-1"}
    with pytest.raises(ConfigError) as info:
        parse_target({**base, "restore": {"dst_ak": "AK", "dst_sk": "S" * 101}}, env={})
    assert info.value.message == (
        "target: restore.dst_sk: expected the destination's secret key (a non-empty string of at most 100 "
        "characters), found a string of 101 characters"
    )
    with pytest.raises(ConfigError, match=r"restore\.dst_sk: .*found nothing \(the key is missing\)"):
        parse_target({**base, "restore": {"dst_ak": "AK"}}, env={})
    with pytest.raises(
        ConfigError, match=r"restore\.src_crypto_type: expected a crypto type: DEFAULT or KMS"
    ):
        parse_target({**base, "restore": {"dst_ak": "AK", "dst_sk": "SK", "src_crypto_type": "AES"}}, env={})
    with pytest.raises(ConfigError, match=r"restore\.dst_region: expected one of the keys "):
        parse_target({**base, "restore": {"dst_ak": "AK", "dst_sk": "SK", "dst_region": "r"}}, env={})


def test_a_key_with_nothing_after_it_counts_as_absent() -> None:
    target = parse_target(
        yaml.safe_load("base_url: http://x\nproject_id: p\ntoken: tok-1\nreadonly_token:\nother_project:\n"),
        env={},
    )
    assert target.project.readonly_token is None and target.other_project is None


def test_unknown_schema_name_is_a_bug_not_a_config_error() -> None:
    with pytest.raises(ValueError, match="unknown schema 'targets'"):
        load_schema("targets")

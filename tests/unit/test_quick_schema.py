"""The quick validator (conformance/schemas/quick.py) never accepts what jsonschema rejects, and accepts the
valid files (else a run's start would import jsonschema after all): full valid documents of every shipped
schema, and every one-place mutation of them - each value replaced by values of other types and limits, each
key removed, an unknown key added to each mapping - judged by both. ~1,900 documents, well under a second."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from conformance.schemas import load_schema, validate
from conformance.schemas.quick import accepts

TARGET: dict[str, Any] = {
    "base_url": "https://oms.example.com:8443/base",
    "profile": "huawei",
    "project_id": "a" * 32,
    "token": "a-token",
    "token_command": ["python3", "iam_token.py"],
    "token_command_timeout": 30,
    "readonly_token": 12345,
    "readonly_token_command": "print-token",
    "aksk": {"ak": "AK", "sk": "SK", "security_token": "ST"},
    "groups": {"monitoring": ["g-1", 7], "paused": [], "waiting": ["g-2"]},
    "other_project": {
        "project_id": "b" * 32,
        "token": "b-token",
        "token_command_timeout": 0.5,
        "aksk": {"ak": "AK2", "sk": "SK2"},
        "groups": {"monitoring": ["g-3"]},
    },
    "restore": {"dst_ak": "d", "dst_sk": "s", "src_crypto_type": "KMS", "dst_kms_key_id": "k" * 36},
    "settle_timeout": 60,
    "client_cert": "c.pem",
    "client_key": "k.pem",
    "client_key_password": "",
    "proxy": "none",
}
FIXTURES: dict[str, Any] = {
    "projects": [
        {
            "project_id": "p",
            "tokens": ["t-1", {"token": "t-2", "permissions": ["oms:taskgroup:get"]}],
            "aksk": [{"ak": "a", "sk": "s", "security_token": "x", "permissions": []}],
            "groups": {"monitoring": ["g"], "completed": [1]},
            "generate": {"paused": 10_000_000, "waiting": 0},
        }
    ]
}
BASELINE: dict[str, Any] = {
    "version": 1,
    "known_failures": [
        {"requirement": "STOP-ROBUST", "check": "fuzz", "reason": "r", "expires": "2026-12-31"}
    ],
}
VALID = {"target": TARGET, "fixtures": FIXTURES, "baseline": BASELINE}
REPLACEMENTS: tuple[Any, ...] = (
    *(None, True, False, 0, 1, -1, 1.0, 2.5, 60.0, 600.5, 10_000_001, "", " ", "x", "KMS", "none"),
    *("http://h", "a" * 101, "é" * 36, "2026-13-01", "a b", [], ["x"], [""], [1.5], {}, {"x": 1}),
)


def mutations(document: Any) -> Iterator[Any]:
    """Every document that differs from ``document`` in one place."""
    yield document
    if isinstance(document, dict):
        yield {**document, "unknown_key": 1}
        for key, value in document.items():
            yield {k: v for k, v in document.items() if k != key}
            for changed in [*REPLACEMENTS, *mutations(value)]:
                yield {**document, key: changed}
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield document[:index] + document[index + 1 :]
            for changed in [*REPLACEMENTS, *mutations(value)]:
                yield [*document[:index], changed, *document[index + 1 :]]


def jsonschema_accepts(document: Any, name: str) -> bool:
    validator = Draft202012Validator(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(document)


@pytest.mark.parametrize("name", sorted(VALID))
def test_the_quick_validator_accepts_only_what_jsonschema_accepts(name: str) -> None:
    schema = load_schema(name)
    seen = accepted = 0
    for document in mutations(copy.deepcopy(VALID[name])):
        quick, full = accepts(document, schema), jsonschema_accepts(document, name)
        assert not quick or full, document  # never a yes jsonschema would not give
        if name != "baseline":  # its "format" is not one quick.py judges: jsonschema judges every baseline
            assert quick == full, document
        seen, accepted = seen + 1, accepted + quick
    assert seen > 200 and (accepted > 20 or name == "baseline")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
)


@given(value=JSON_VALUES)
def test_any_value_in_any_place_gets_jsonschemas_verdict(value: Any) -> None:
    for key in ("groups", "other_project", "aksk", "token", "settle_timeout", "unknown"):
        document = {**TARGET, key: value}
        assert accepts(document, load_schema("target")) == jsonschema_accepts(document, "target")


def test_a_valid_file_is_accepted_without_jsonschema_and_a_bad_one_is_worded_by_it() -> None:
    # In a fresh interpreter: this one has imported jsonschema already.
    import subprocess
    import sys

    code = (
        "import sys\nfrom conformance.schemas import validate\n"
        f"validate({TARGET!r}, 'target', 't')\nassert 'jsonschema' not in sys.modules\n"
        "try:\n    validate({'base_url': 'ftp://x', 'project_id': 'p'}, 'target', 't')\n"
        "except Exception as exc:\n    print(exc)\nassert 'jsonschema' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.startswith("t: base_url: expected "), done.stdout
    assert validate(copy.deepcopy(TARGET), "target", "t") == TARGET


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"const": 1}, True),
        ({"enum": [0, "x"]}, False),
        ({"enum": [1.0]}, 1),
        ({"type": "integer"}, 2.0),
        ({"type": "integer"}, True),
        ({"type": "number"}, False),
        ({"type": "number", "minimum": 1}, "0"),
        ({"pattern": "b"}, "abc"),
        ({"maxLength": 2}, "éé"),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}),
        ({"propertyNames": {"type": "string"}}, {1: "x"}),
        ({"required": ["a"]}, ["a"]),
        ({"$ref": "#/$defs/x", "$defs": {"x": {"type": "string"}}}, 1),
    ],
)
def test_each_keyword_means_what_it_means_to_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    expected = Draft202012Validator(schema).is_valid(instance)
    assert accepts(instance, schema) == expected


def test_a_keyword_it_does_not_know_leaves_the_verdict_to_jsonschema() -> None:
    assert not accepts("x", {"type": "string", "format": "date"})
    assert not accepts({}, {"type": "object", "patternProperties": {"a": {}}, "additionalProperties": False})
    assert not accepts([1], {"enum": [[1]]})

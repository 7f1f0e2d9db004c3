"""The contract documents: valid, loadable by Schemathesis, and exactly the page's constraints."""

from __future__ import annotations

import pytest
import schemathesis
from schemathesis import Config

from conformance.spec import PROFILES, load_contract, load_errata, load_requirements
from conformance.spec.catalogue import ID_PATTERN, LEVELS
from conformance.spec.documents import STOP_PATH, merge_patch


@pytest.mark.parametrize("profile", PROFILES)
def test_document_validates_and_loads_in_schemathesis(profile: str) -> None:
    contract = load_contract(profile)
    contract.validate()
    schema = schemathesis.openapi.from_dict(contract.document, config=Config())
    assert schema[STOP_PATH]["PUT"] is not None


def test_strict_constraints_are_exactly_the_pages() -> None:
    contract = load_contract("strict")
    document = contract.document
    assert list(document["paths"]) == [STOP_PATH]
    assert list(document["paths"][STOP_PATH]) == ["parameters", "put"]
    params = document["components"]["parameters"]
    for name, key in (("ProjectId", "project_id"), ("GroupId", "group_id")):
        assert (
            params[name]["name"] == key and params[name]["in"] == "path" and params[name]["required"] is True
        )
        assert params[name]["schema"] == {"type": "string", "minLength": 1, "maxLength": 1024}
    token = params["AuthToken"]
    assert (token["name"], token["in"], token["required"]) == ("X-Auth-Token", "header", True)
    assert token["schema"] == {"type": "string", "minLength": 1, "maxLength": 16384}
    scheme = document["components"]["securitySchemes"]["IAMToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Auth-Token")
    responses = contract.stop_operation["responses"]
    assert sorted(responses) == ["200", "400", "403"]
    assert "content" not in responses["200"]
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["required"] == ["error_msg", "error_code"]
    assert {k: v["type"] for k, v in error["properties"].items()} == {
        "error_msg": "string",
        "error_code": "string",
    }
    for code in ("400", "403"):
        assert responses[code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorResponse"
        }
    assert document["servers"][0]["url"] == "https://oms.{region}.myhuaweicloud.com"
    assert params["ProjectId"]["example"] == "f4e146cac1de45669c3fed73dc3b9c6f"
    assert params["GroupId"]["example"] == "157ece42-3270-4824-a3d2-f0187a03ca01"
    assert "Creating or" in contract.stop_operation["description"]


def test_huawei_profile_adds_the_platform_and_leaves_strict_untouched() -> None:
    strict, huawei = load_contract("strict"), load_contract("huawei")
    assert huawei.documented_statuses() == {200, 400, 401, 403, 404, 418, 429, 500}
    assert huawei.security_schemes() == ("IAMToken", "AKSK")
    assert huawei.has_show_operation and not strict.has_show_operation
    status = huawei.document["components"]["schemas"]["TaskGroupStatus"]["properties"]["status"]
    assert status["enum"] == list(range(10))
    assert load_contract("strict").document == strict.document  # loading huawei changed nothing


def test_merge_patch_follows_rfc_7386() -> None:
    # The examples of RFC 7386 appendix A that matter here.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": ["b"]}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


def test_requirement_catalogue_is_well_formed() -> None:
    catalogue = load_requirements()
    assert len(catalogue) >= 19
    for rid, req in catalogue.items():
        assert ID_PATTERN.match(rid), rid
        assert req.level in LEVELS
        assert req.source_text.strip(), rid
        assert set(req.profiles) <= set(PROFILES) and req.profiles
    for profile in PROFILES:
        assert load_contract(profile).requirement_ids() <= set(catalogue)


def _flat(text: str) -> str:
    """The page's text without table pipes, thousands separators and line breaks."""
    return " ".join(text.replace("|", " ").replace(",", "").split())


def test_page_sentences_are_quoted_verbatim(seed_page: str) -> None:
    page = _flat(seed_page)
    quoted = [r.source for r in load_requirements().values()] + [
        r.source.get("also_from", {}) for r in load_requirements().values()
    ]
    for source in quoted:
        if source.get("kind", "page") == "page" and source.get("text"):
            for piece in source["text"].split(" | "):
                assert _flat(piece) in page, piece


def test_errata_cite_the_page(seed_page: str) -> None:
    errata = load_errata()
    assert errata
    page = _flat(seed_page)
    for erratum in errata:
        assert erratum.quote and erratum.problem and erratum.resolution
        for piece in erratum.quote.split(" | "):
            assert _flat(piece) in page, (erratum.id, piece)
    assert {e.id for e in errata} >= {
        "ERRATUM-EXAMPLE-URL",
        "ERRATUM-UNDOCUMENTED-STATUSES",
        "ERRATUM-PAUSABLE-STATE-NAMES",
        "ERRATUM-EXAMPLE-RESPONSE-NONE",
    }


def test_every_requirement_has_a_check() -> None:
    from conformance.checks.suite import BUILTIN

    covered = {rid for spec in BUILTIN.select() for rid in spec.requirements}
    assert set(load_requirements()) <= covered


def test_the_contract_reads_the_same_through_libyaml_as_through_the_pure_python_parser() -> None:
    # The shipped files are parsed by libyaml (a tenth of the CPU at every run's start); a construct the
    # two parsers read differently would change the contract silently.
    import yaml

    from conformance.spec import files
    from conformance.textfile import _loader, read_yaml

    assert yaml.__with_libyaml__, "PyYAML without libyaml: the contract is read by the slow parser"
    assert issubclass(_loader(True), yaml.CSafeLoader) and not issubclass(_loader(False), yaml.CSafeLoader)
    shipped = sorted(files.contract_dir().rglob("*.yaml"))
    assert len(shipped) >= 4
    for path in shipped:
        fast = read_yaml(path, "contract file", shipped=True)
        assert fast == yaml.load(path.read_text(encoding="utf-8"), Loader=_loader(False)), path
    # Dates stay text in both (no implicit timestamp): the schema or the catalogue judges them.
    assert yaml.load("d: 2026-12-31", Loader=_loader(True)) == {"d": "2026-12-31"}

"""Load the contract for a profile: the strict document, with the profile's merge patch applied.

The strict document is the source page's letter and is never edited by a profile; the ``huawei`` profile is
an RFC 7386 JSON Merge Patch applied at load time, so both stay readable on their own and a diff between
them is exactly what the platform adds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any

from conformance.errors import SpecError, UsageError
from conformance.spec import files
from conformance.textfile import read_yaml


class Profile(StrEnum):
    """A contract profile: ``strict`` is the page's letter, ``huawei`` adds what the platform does."""

    STRICT = "strict"
    HUAWEI = "huawei"


PROFILES = tuple(p.value for p in Profile)
STOP_PATH = "/v2/{project_id}/taskgroups/{group_id}/stop"
SHOW_PATH = "/v2/{project_id}/taskgroups/{group_id}"
START_PATH = "/v2/{project_id}/taskgroups/{group_id}/start"
# What follows the group segment on the stop and start paths (the show path is the group itself).
STOP_SUFFIX = STOP_PATH.removeprefix(SHOW_PATH)
START_SUFFIX = START_PATH.removeprefix(SHOW_PATH)
# The literal segments of the paths, for whoever routes by segment: "v2" and "taskgroups" around the
# project id, then the group id, then "stop" or "start" (or nothing: the show path).
VERSION_SEGMENT, COLLECTION_SEGMENT = STOP_PATH.split("/")[1], STOP_PATH.split("/")[3]
STOP_SEGMENT, START_SEGMENT = STOP_SUFFIX.removeprefix("/"), START_SUFFIX.removeprefix("/")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, ``null`` deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@cache
def _read_yaml(name: str) -> Any:
    # Once per file: the strict document is both profiles' base (merge_patch copies what it changes and never
    # alters its target; load_contract hands out deep copies), and parsing it twice cost every run's start.
    return read_yaml(files.contract_dir() / name, "contract file", SpecError, shipped=True)


@dataclass(frozen=True)
class Contract:
    """One profile's OpenAPI document, with helpers the checks need."""

    profile: Profile
    document: dict[str, Any] = field(repr=False)

    @property
    def stop_operation(self) -> dict[str, Any]:
        return self.document["paths"][STOP_PATH]["put"]  # type: ignore[no-any-return]

    @property
    def has_show_operation(self) -> bool:
        return "get" in self.document["paths"].get(SHOW_PATH, {})

    @property
    def has_start_operation(self) -> bool:
        """The platform's resume (huawei profile): what ``run --restore`` and the state machine use."""
        return "put" in self.document["paths"].get(START_PATH, {})

    def documented_statuses(self) -> frozenset[int]:
        return frozenset(int(code) for code in self.stop_operation["responses"])

    def error_code(self, status: int) -> str | None:
        """The ``error_code`` the contract fixes for the stop's ``status`` answers (``x-error-code``), if any:
        the huawei profile's gateway 401 is APIGW.0301."""
        response = self.stop_operation["responses"].get(str(status), {})
        if "$ref" in response:
            response = _resolve(self.document, response["$ref"])
        code = response.get("x-error-code")
        return None if code is None else str(code)

    def parameter(self, name: str) -> dict[str, Any]:
        """The stop operation's parameter ``name`` (``group_id``, ``X-Auth-Token``, ...), resolved."""
        for entry in stop_parameters(self.document):
            if entry.get("name") == name:
                return entry
        raise KeyError(f"the stop operation has no parameter {name!r}")

    def max_length(self, name: str) -> int:
        """The page's maximum length of parameter ``name``: ids 1,024, the token 16,384."""
        return int(self.parameter(name)["schema"]["maxLength"])

    def min_length(self, name: str) -> int:
        return int(self.parameter(name)["schema"].get("minLength", 0))

    def security_schemes(self) -> tuple[str, ...]:
        return tuple(name for entry in self.stop_operation.get("security", []) for name in entry)

    def requirement_ids(self) -> set[str]:
        """Every requirement ID the document's ``x-requirements`` annotations name."""
        return set(_walk_requirement_ids(self.document))

    def dumps(self, fmt: str = "yaml") -> str:
        if fmt == "json":
            return json.dumps(self.document, indent=2, ensure_ascii=False) + "\n"
        import yaml  # only to print the contract: loading it does not need it here

        return yaml.safe_dump(self.document, sort_keys=False, allow_unicode=True, width=110)

    def validate(self) -> None:
        """Raise SpecError unless the document is valid OpenAPI (openapi-spec-validator)."""
        from openapi_spec_validator import validate
        from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

        try:
            validate(copy.deepcopy(self.document))
        except OpenAPIValidationError as exc:
            raise SpecError(f"the {self.profile} document is not valid OpenAPI: {exc.message}") from exc


def stop_parameters(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The stop operation's parameters, resolved: the path's (project_id, group_id), then the operation's."""
    path = document["paths"][STOP_PATH]
    entries = path.get("parameters", []) + path["put"].get("parameters", [])
    return [_resolve(document, entry["$ref"]) if "$ref" in entry else entry for entry in entries]


def _resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node  # type: ignore[no-any-return]


def _walk_requirement_ids(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "x-requirements":
                yield from value
            else:
                yield from _walk_requirement_ids(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk_requirement_ids(item)


@cache
def _load(profile: str) -> Contract:
    document = _read_yaml(files.STRICT_DOCUMENT)
    if profile != Profile.STRICT:
        patch_path = files.profile_patch(profile)
        document = merge_patch(document, _read_yaml(str(patch_path.relative_to(files.contract_dir()))))
    return Contract(profile=Profile(profile), document=document)


def load_contract(profile: str = Profile.STRICT) -> Contract:
    """The contract for ``profile``; a copy, so callers may not alter the cached one."""
    if profile not in PROFILES:
        raise UsageError(f"unknown profile {profile!r}; choose one of: {', '.join(PROFILES)}")
    cached = _load(profile)
    return Contract(profile=cached.profile, document=copy.deepcopy(cached.document))

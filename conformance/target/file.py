"""A target file, read and written: YAML with ``${VAR}`` expanded from the environment, ``token_command`` run
(:mod:`conformance.token_command`), checked against ``schemas/target.schema.json`` and then by the rules a
schema cannot express (an id in two statuses, a token reused where it must differ) - every problem a
ConfigError naming the key, what was expected and what was found, before any request is sent; and
:func:`dump_target`, its inverse, kept beside the parser so that the two change together."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.schemas import key_path, problem, validate
from conformance.spec.documents import Profile
from conformance.target.model import (
    DEFAULT_SETTLE_TIMEOUT,
    RESTORE_PLAIN_KEYS,
    AkSk,
    ClientCertificate,
    Command,
    Project,
    Target,
)
from conformance.textfile import read_yaml
from conformance.token_command import DEFAULT_TIMEOUT, run_token_command

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(value: Any, path: list[str | int], env: Mapping[str, str], source: str) -> Any:
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise problem(
                    source, key_path(path), f"the environment variable ${{{name}}} to be set", "it unset"
                )
            return env[name]

        return _VAR.sub(lookup, value)
    if isinstance(value, dict):
        return {k: _expand(v, [*path, str(k)], env, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, [*path, i], env, source) for i, v in enumerate(value)]
    return value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)  # the schema allows integers for ids and tokens


def _command(value: Any) -> Command | None:
    if value is None:
        return None
    return value if isinstance(value, str) else tuple(value)


class _Loader:
    """One target file's parse: the source for messages, the folder commands run in."""

    def __init__(self, source: str, base_dir: Path | None) -> None:
        self.source = source
        self.base_dir = base_dir

    def check(self, data: Mapping[str, Any], where: str) -> None:
        """The rules within one project that the schema cannot express (before any command runs)."""
        for key in ("token", "readonly_token"):
            if key in data and f"{key}_command" in data:
                raise problem(self.source, f"{where}{key}_command", f"either {key} or {key}_command", "both")
        if not any(k in data for k in ("token", "token_command", "aksk")):
            raise problem(
                self.source, f"{where}token", "a credential: token, token_command or aksk", "none of them"
            )
        first: dict[str, str] = {}
        for name, ids in data.get("groups", {}).items():
            for i, gid in enumerate(ids):
                if str(gid) in first:
                    raise problem(
                        self.source,
                        f"{where}groups.{name}[{i}]",
                        "each group id listed once (a group has one status)",
                        f"{str(gid)!r} listed twice (also under {where}groups.{first[str(gid)]})",
                    )
                first[str(gid)] = name

    def project(self, data: Mapping[str, Any], where: str, known: list[str]) -> Project:
        raw_aksk = data.get("aksk")
        aksk = None
        if raw_aksk is not None:
            aksk = AkSk(str(raw_aksk["ak"]), str(raw_aksk["sk"]), _text(raw_aksk.get("security_token")))
            known += [aksk.sk, *([aksk.security_token] if aksk.security_token else [])]
        timeout = data.get("token_command_timeout", DEFAULT_TIMEOUT)
        return Project(
            project_id=str(data["project_id"]),
            token=self.token(data, "token", where, timeout, known),
            aksk=aksk,
            groups={name: tuple(str(i) for i in ids) for name, ids in data.get("groups", {}).items()},
            readonly_token=self.token(data, "readonly_token", where, timeout, known),
            token_command=_command(data.get("token_command")),
            readonly_token_command=_command(data.get("readonly_token_command")),
            token_command_timeout=data.get("token_command_timeout"),
        )

    def token(
        self, data: Mapping[str, Any], key: str, where: str, timeout: float, known: list[str]
    ) -> str | None:
        command = data.get(f"{key}_command")
        if command is None:
            value = _text(data.get(key))
        else:
            value = run_token_command(
                command,
                where=f"{self.source}: {where}{key}_command",
                timeout=timeout,
                cwd=self.base_dir,
                secrets=known,
            )
        if value:
            known.append(value)
        return value


def _base_url(value: str, source: str) -> str:
    parts = urlsplit(value)
    if parts.username or parts.password:
        # Never echoed back: the URL is printed and reported, so a password in it would leak.
        raise problem(
            source,
            "base_url",
            "a URL without user:password@ (give the credential as token or aksk)",
            "a URL with user info (not shown)",
        )
    return value.rstrip("/")


def _different(source: str, path: str, value: str | None, other: str | None, expected: str) -> None:
    if value is not None and value == other:
        raise problem(source, path, expected, "the same value (not shown: a secret)")


def _check_projects(source: str, project: Project, other: Project | None) -> None:
    """The rules between credentials and projects that a schema cannot express."""
    _different(
        source,
        "readonly_token",
        project.readonly_token,
        project.token,
        "a token other than token (one without oms:taskgroup:update)",
    )
    if other is None:
        return
    if other.project_id == project.project_id:
        raise problem(
            source,
            "other_project.project_id",
            "a project id other than project_id",
            f"the same {other.project_id!r}",
        )
    _different(source, "other_project.token", other.token, project.token, "the other project's own token")
    _different(
        source,
        "other_project.token",
        other.token,
        project.readonly_token,
        "the other project's own token, not readonly_token",
    )
    if other.aksk and project.aksk and other.aksk.ak == project.aksk.ak:
        raise problem(
            source, "other_project.aksk.ak", "the other project's own AK/SK", f"the same {other.aksk.ak!r}"
        )
    overlap = sorted(project.group_ids() & other.group_ids())
    if overlap:
        raise problem(
            source,
            "other_project.groups",
            "group ids of the other project only",
            f"{overlap[0]!r}, also listed in groups",
        )


def parse_target(
    data: Any,
    env: Mapping[str, str] | None = None,
    *,
    source: str = "target",
    base_dir: Path | None = None,
) -> Target:
    """A Target from the parsed YAML of a target file (``env`` defaults to os.environ).

    ``source`` names the file in messages; ``base_dir`` is where a ``token_command`` runs (the file's folder).
    """
    data = _expand(data, [], os.environ if env is None else env, source)
    data = validate(data, "target", source)
    loader = _Loader(source, base_dir)
    base_url = _base_url(data["base_url"], source)
    raw_other = data.get("other_project")
    loader.check(data, "")
    if raw_other is not None:
        loader.check(raw_other, "other_project.")
    known: list[str] = [str(v) for k, v in (data.get("restore") or {}).items() if k not in RESTORE_PLAIN_KEYS]
    project = loader.project(data, "", known)
    other = loader.project(raw_other, "other_project.", known) if raw_other is not None else None
    _check_projects(source, project, other)
    return Target(
        base_url=base_url,
        project=project,
        profile=Profile(data.get("profile", Profile.STRICT)),
        other_project=other,
        restore=dict(data["restore"]) if "restore" in data else None,
        settle_timeout=float(data.get("settle_timeout", DEFAULT_SETTLE_TIMEOUT)),
        client_certificate=_client_certificate(data, base_dir, source),
        proxy=_proxy(data.get("proxy"), source),
    )


def _client_certificate(
    data: Mapping[str, Any], base_dir: Path | None, source: str
) -> ClientCertificate | None:
    """The target file's client certificate, its paths relative to the file (as a token_command runs)."""
    if "client_cert" not in data:
        for key in ("client_key", "client_key_password"):
            if key in data:
                raise problem(source, key, "client_cert beside it (the certificate of that key)", "none")
        return None

    def path(value: str) -> str:
        return str((base_dir or Path()) / Path(value).expanduser())

    key_file = data.get("client_key")
    return ClientCertificate(
        path(data["client_cert"]),
        path(key_file) if key_file else None,
        _text(data.get("client_key_password")),
    )


def _proxy(value: str | None, source: str) -> str | None:
    if value is not None and (urlsplit(value).username or urlsplit(value).password):
        # Never echoed back (as base_url): a proxy's password goes in HTTPS_PROXY/HTTP_PROXY, whose user
        # info the run never prints.
        raise problem(
            source,
            "proxy",
            "a proxy URL without user:password@ (a proxy's password goes in HTTPS_PROXY)",
            "a URL with user info (not shown)",
        )
    return value


def load_target(path: str | Path, env: Mapping[str, str] | None = None) -> Target:
    path = Path(path)
    source = f"target file {str(path)!r}"
    return parse_target(read_yaml(path, "target file"), env, source=source, base_dir=path.parent)


def _project_dict(project: Project) -> dict[str, Any]:
    out: dict[str, Any] = {"project_id": project.project_id}
    for key in ("token", "readonly_token"):
        command = getattr(project, f"{key}_command")
        if command is not None:  # the command, not the token it printed, goes back into the file
            out[f"{key}_command"] = command if isinstance(command, str) else list(command)
        elif getattr(project, key):
            out[key] = getattr(project, key)
    if project.token_command_timeout is not None:
        out["token_command_timeout"] = project.token_command_timeout
    if project.aksk:
        out["aksk"] = {"ak": project.aksk.ak, "sk": project.aksk.sk}
        if project.aksk.security_token:
            out["aksk"]["security_token"] = project.aksk.security_token
    if project.groups:
        out["groups"] = {name: list(ids) for name, ids in project.groups.items()}
    return out


def dump_target(target: Target) -> str:
    """The target file text for ``target`` - the inverse of :func:`parse_target`."""
    return yaml.safe_dump(target_data(target), sort_keys=False)


def target_data(target: Target) -> dict[str, Any]:
    """The target file's fields of ``target`` (credentials included), as :func:`parse_target` reads them."""
    data: dict[str, Any] = {"base_url": target.base_url, "profile": target.profile.value}
    data.update(_project_dict(target.project))
    if target.other_project:
        data["other_project"] = _project_dict(target.other_project)
    if target.restore:
        data["restore"] = dict(target.restore)
    if target.settle_timeout != DEFAULT_SETTLE_TIMEOUT:
        data["settle_timeout"] = target.settle_timeout
    if target.client_certificate is not None:
        data["client_cert"] = target.client_certificate.cert
        if target.client_certificate.key:
            data["client_key"] = target.client_certificate.key
        if target.client_certificate.password:
            data["client_key_password"] = target.client_certificate.password
    if target.proxy is not None:
        data["proxy"] = target.proxy
    return data

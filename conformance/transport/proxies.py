"""Which forward proxy a run's requests go through, decided once per client for every way of sending.

Users meet proxies in three ways, and the rule is curl's and Python's with one exception:

- ``--proxy URL`` or the target file's ``proxy:`` names the proxy: every request goes through it, a loopback
  target too (that is how a user says so); ``--proxy none`` or ``proxy: none`` ignores the environment.
- Otherwise the environment: ``HTTPS_PROXY`` for an https target, ``HTTP_PROXY`` for an http one, else
  ``ALL_PROXY`` (each in upper or lower case; the lower-case one wins, as in Python's ``urllib``), and
  ``NO_PROXY`` lists the hosts (and domain suffixes, ``*`` for all) that go direct.
- The exception: a loopback target (127.0.0.0/8, ::1, ``localhost``) - the embedded reference server among
  them - never goes through a proxy from the environment. A proxy (a CI runner's, say) cannot reach this
  machine's loopback, and a user with ``HTTP_PROXY`` set still means the server on their own machine.

Only ``http://`` proxies are spoken to (plain HTTP to the proxy; ``CONNECT`` tunnels for https targets, the
absolute-form request target for http ones: transport/h1.py). A user and password in the proxy URL become a
``Proxy-Authorization: Basic`` header; reports show the proxy as scheme, host and port only.
"""

from __future__ import annotations

import base64
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from conformance.errors import ConfigError

NO_PROXY = "none"  # the --proxy / proxy: value that ignores the environment


@dataclass(frozen=True)
class Proxy:
    host: str
    port: int
    # "Basic ..." from the URL's user info; a secret (the run's redactor is given it).
    authorization: str | None = field(default=None, repr=False)
    source: str = ""  # where it came from: --proxy, the target file, HTTPS_PROXY, ...
    url: str = field(default="", repr=False)  # as given, user info and all: for httpx's proxy= (fallback)

    @property
    def shown(self) -> str:
        """The proxy as reports show it: no user, no password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def header(self) -> list[tuple[bytes, bytes]]:
        """What a request to the proxy itself carries besides its own headers."""
        return [(b"Proxy-Authorization", self.authorization.encode("latin-1"))] if self.authorization else []


def is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def choose_proxy(
    base_url: str, setting: str | None, env: Mapping[str, str], *, setting_source: str = "--proxy"
) -> Proxy | None:
    """The proxy for ``base_url``: ``setting`` (--proxy or the target file's ``proxy:``, as
    ``setting_source`` says; None: the environment ``env``), by the rules of the module docstring. None:
    connect directly."""
    if setting is not None:
        return None if setting.strip().lower() == NO_PROXY else parse_proxy(setting, setting_source)
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    if is_loopback(host):
        return None
    proxies = _from_environment(env)
    scheme = parts.scheme.lower()
    chosen = proxies.get(scheme) or proxies.get("all")
    if not chosen:
        return None
    name, url = chosen
    if "no" in proxies and bypassed(host, parts.port, proxies["no"][1]):
        return None
    return parse_proxy(url, name)


def bypassed(host: str, port: int | None, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` sends ``host`` direct, as curl reads it: ``*`` for every host; else entries
    separated by commas, each a host name that matches itself and its subdomains (a leading ``.`` or ``*.``
    changes nothing), an IP address or a CIDR network, optionally with ``:port``."""
    host = host.lower().strip("[]").rstrip(".")
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        entry_port = None
        if entry.count(":") == 1 and "]" not in entry:  # host:port (an IPv6 address has more colons)
            entry, _, text = entry.partition(":")
            entry_port = int(text) if text.isdigit() else None
        entry = entry.strip("[]").removeprefix("*").lstrip(".").rstrip(".")
        if not entry or (entry_port is not None and entry_port != port):
            continue
        if host == entry or host.endswith("." + entry) or _in_network(host, entry):
            return True
    return False


def _in_network(host: str, entry: str) -> bool:
    try:
        return "/" in entry and ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False


def parse_proxy(url: str, source: str) -> Proxy:
    """An ``http://[user:password@]host[:port]`` proxy URL; anything else is a ConfigError naming ``source``
    (never the URL itself: it may hold a password)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")  # curl and requests accept a bare host:port
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ConfigError(
            f"{source}: expected an http://host:port proxy URL, found "
            f"{'a ' + parts.scheme + ':// URL' if parts.scheme else 'no host'} (not shown)",
            hint="Give an http:// forward proxy (https targets are tunnelled through it with CONNECT), or "
            "--proxy none to ignore the environment.",
        )
    try:
        port = parts.port or 80
    except ValueError:
        raise ConfigError(f"{source}: the proxy URL's port is not a number (URL not shown)") from None
    authorization = None
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        authorization = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
    return Proxy(parts.hostname, port, authorization, source, parts.geturl())


def _from_environment(env: Mapping[str, str]) -> dict[str, tuple[str, str]]:
    """scheme -> (variable name, value) from ``*_proxy`` variables, the lower-case name winning."""
    out: dict[str, tuple[str, str]] = {}
    for upper in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        for name in (upper, upper.lower()):  # the lower-case one last: it wins
            value = env.get(name, "").strip()
            if value:
                out[upper[: -len("_PROXY")].lower()] = (name, value)
    return out

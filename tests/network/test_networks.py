"""Real parts between the tool and the target: a forward proxy that alone can reach the target (tinyproxy), a
TLS front signed by a private CA and one behind mutual TLS (nginx). A complete run through each conforms,
and the parts show that every request went the way the run says."""

from __future__ import annotations

import json
import ssl
import time
from pathlib import Path

import httpx
from click.testing import CliRunner, Result

from conformance.cli import main
from conformance.target import dump_target
from tests.network.conftest import PROXY_EGRESS, Front, StartFront
from tests.network.tinyproxy import Tinyproxy
from tests.tls_certs import PrivateCA


def _run(target_file: Path, reports: Path, *extra: str) -> tuple[Result, dict[str, object]]:
    outcome = CliRunner().invoke(
        main,
        [
            "run",
            "--target",
            str(target_file),
            "--seed",
            "3",
            "--report-dir",
            str(reports),
            "--format",
            "json",
            *extra,
        ],
    )
    report_file = reports / "conformance.json"
    report = json.loads(report_file.read_text()) if report_file.exists() else {}
    return outcome, report


def _cleared_once_logged(front: Front, requests: int) -> None:
    """Clear the front's log once it holds the ``requests`` sent before: nginx writes a line after its
    answer, so the last one can come after the client has its answer and has moved on, and a line cleared
    before it came was counted as the next run's (bounded: a guard against a hang, not a measure)."""
    deadline = time.monotonic() + 10
    while len(front.remote_addresses()) < requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(front.remote_addresses()) == requests
    front.access_log.write_text("")


def test_a_target_reachable_only_through_the_proxy_conforms_with_every_request_through_it(
    front: StartFront, forward_proxy: Tinyproxy, private_ca: PrivateCA, tmp_path: Path
) -> None:
    """Over https (a CONNECT tunnel) the whole default run, the concurrency race included, goes through the
    proxy: nginx logged exactly the run's requests, every one from the proxy's address."""
    proxied = front(tls=True, proxy_only=True)
    trusting = ssl.create_default_context(cafile=str(private_ca.cert))
    direct = httpx.get(proxied.target.base_url + "/", verify=trusting, trust_env=False)
    assert direct.status_code == 403  # the front refuses anyone but the proxy
    _cleared_once_logged(proxied, 1)
    target_file = tmp_path / "target.yaml"
    target_file.write_text(dump_target(proxied.target) + f"proxy: {forward_proxy.url}\n")
    outcome, report = _run(target_file, tmp_path / "reports", "--ca-bundle", str(private_ca.cert))
    assert outcome.exit_code == 0, outcome.output
    assert report["verdict"] == "CONFORMS", outcome.output
    checks = {c["check"]: c["verdict"] for c in report["checks"]}  # type: ignore[attr-defined]
    assert checks["concurrency"] == "pass"  # the race's stops went through the tunnel too
    addresses = proxied.remote_addresses()
    assert len(addresses) == report["requests"] and set(addresses) == {PROXY_EGRESS}
    assert report["target"]["proxy"] == f"{forward_proxy.url} (the target file's proxy:)"  # type: ignore[index]


def test_a_plain_http_target_behind_the_proxy_conforms_with_absolute_form_requests(
    front: StartFront, forward_proxy: Tinyproxy, tmp_path: Path
) -> None:
    proxied = front(proxy_only=True)
    target_file = tmp_path / "target.yaml"
    target_file.write_text(dump_target(proxied.target))
    refused, direct = _run(
        target_file, tmp_path / "direct"
    )  # no proxy: the front's 403s refuse the credential
    assert refused.exit_code != 0 and isinstance(direct.get("requests"), int)
    _cleared_once_logged(proxied, int(direct["requests"]))  # type: ignore[call-overload]
    outcome, report = _run(target_file, tmp_path / "reports", "--proxy", forward_proxy.url)
    assert outcome.exit_code == 0, outcome.output
    assert report["verdict"] == "CONFORMS", outcome.output
    addresses = proxied.remote_addresses()
    # Every request reached the front through tinyproxy, which forwards only absolute-form requests (it
    # answers an origin-form one 400 itself): the run sent them so.
    assert len(addresses) == report["requests"] and set(addresses) == {PROXY_EGRESS}


def test_a_front_behind_mutual_tls_refuses_a_client_without_a_certificate_and_conforms_with_one(
    front: StartFront, private_ca: PrivateCA, tmp_path: Path
) -> None:
    guarded = front(tls=True, mutual_tls=True)
    target_file = tmp_path / "target.yaml"
    target_file.write_text(dump_target(guarded.target))
    trust = ("--ca-bundle", str(private_ca.cert))
    # nginx answers 400 "No required SSL certificate was sent": a configuration error before any check.
    refused, report = _run(target_file, tmp_path / "without", *trust)
    assert refused.exit_code == 2, refused.output
    assert "client certificate" in refused.output and "--client-cert" in refused.output
    assert report["stop_reason"] == "not_started" and report["requests"] == 0
    client = private_ca.issue(tmp_path / "client", "client", client=True)
    shown = ("--client-cert", str(client.cert), "--client-key", str(client.key))
    outcome, report = _run(target_file, tmp_path / "with", *trust, *shown)
    assert outcome.exit_code == 0, outcome.output
    assert report["verdict"] == "CONFORMS"
    assert report["target"]["client_certificate"] == str(client.cert)  # type: ignore[index]

"""The plugin's server fixtures are shared by a session and reset before each test, as pytest-httpserver's
are: the tests below run in order in one inner session and each sees what the one before it left behind -
the same server (port), and none of its state (a paused group, faults, counters, violations)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

INNER = """
import httpx
import pytest

SEEN = {}
FAULTY = pytest.mark.parametrize(
    "oms_server_options", [{"profile": "huawei", "faults": ["prefer", "status=500@1.0"]}], indirect=True
)


def stop(server, group, via=None):
    project = server.target.project
    path = f"/v2/{project.project_id}/taskgroups/{group}/stop"
    url = (via or server).base_url + path
    return httpx.put(url, headers={"X-Auth-Token": project.token}, trust_env=False)


def monitoring(server):
    return server.target.project.groups_in("monitoring")[0]


def test_1_pauses_a_group(oms_reference_server):
    SEEN["server"] = oms_reference_server
    SEEN["base_url"] = oms_reference_server.base_url
    SEEN["group"] = group = monitoring(oms_reference_server)
    assert stop(oms_reference_server, group).status_code == 200
    project = oms_reference_server.target.project
    assert oms_reference_server.app.store.status(project.project_id, group) == 3


def test_2_sees_it_running_on_the_same_server(oms_reference_server):
    assert oms_reference_server is SEEN["server"] and oms_reference_server.base_url == SEEN["base_url"]
    project = oms_reference_server.target.project
    assert oms_reference_server.app.store.status(project.project_id, SEEN["group"]) == 2
    assert monitoring(oms_reference_server) == SEEN["group"]


@FAULTY
def test_3_injects_faults(oms_reference_server):
    assert oms_reference_server.base_url == SEEN["base_url"]  # faults alone need no other server
    assert stop(oms_reference_server, monitoring(oms_reference_server)).status_code == 500


def test_4_has_them_gone(oms_reference_server):
    assert stop(oms_reference_server, monitoring(oms_reference_server)).status_code == 200


@pytest.mark.parametrize("oms_server_options", [{"profile": "strict"}], indirect=True)
def test_5_another_profile_is_another_server(oms_reference_server):
    assert oms_reference_server.app.profile == "strict"
    assert oms_reference_server.base_url != SEEN["base_url"]


def test_6_the_proxy_counts_and_records(oms_validating_proxy, oms_reference_server):
    SEEN["proxy"] = oms_validating_proxy.base_url
    group = monitoring(oms_reference_server)
    assert stop(oms_reference_server, group, via=oms_validating_proxy).status_code == 200
    httpx.put(oms_validating_proxy.base_url + "/v2/p/taskgroups//stop", trust_env=False)
    assert oms_validating_proxy.app.requests == 2
    assert oms_validating_proxy.take_violations(side="client")


def test_7_the_proxy_starts_from_nothing(oms_validating_proxy, oms_reference_server):
    assert oms_validating_proxy.base_url == SEEN["proxy"]
    assert oms_validating_proxy.app.requests == 0 and oms_validating_proxy.violations == []
    assert oms_validating_proxy.app.status_counts == {}
    group = monitoring(oms_reference_server)
    assert stop(oms_reference_server, group, via=oms_validating_proxy).status_code == 200


def test_8_a_db_gets_a_server_of_its_own(tmp_path, oms_server_options, request):
    oms_server_options["db_path"] = tmp_path / "own.db"
    server = request.getfixturevalue("oms_reference_server")
    assert server.base_url != SEEN["base_url"]
    assert stop(server, monitoring(server)).status_code == 200


def test_9_a_test_may_stop_the_shared_server(oms_reference_server):
    oms_reference_server.stop()


def test_10_and_the_next_gets_a_running_one(oms_reference_server):
    assert oms_reference_server.running
    assert stop(oms_reference_server, monitoring(oms_reference_server)).status_code == 200
"""


# Printed once the session's fixtures are finalised: the shared servers' threads must be gone by then.
AFTER_THE_SESSION = """
import threading


def pytest_unconfigure(config):
    print("left running:", sorted(t.name for t in threading.enumerate() if t.name.startswith("oms-")))
"""


def test_each_test_gets_the_sessions_server_reset(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    pytester.makeconftest(AFTER_THE_SESSION)
    # In a subprocess: an inline run would drop the modules first imported in it (httpcore, say) from
    # sys.modules when it ends, leaving this process with two copies of their classes.
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=10)
    assert "left running: []" in result.stdout.str()

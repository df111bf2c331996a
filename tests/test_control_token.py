"""The control token (access/control_token.py): where containers pass for this host, the control
endpoints ask for the run's token, which the command line reads from its file and the dashboard
gets from the link printed at start; the AWS APIs never ask for it."""

from __future__ import annotations

import stat
import sys

import requests

from emulator.access.control_token import COOKIE, HEADER, ControlToken, read_token, token_file
from emulator.cli import main
from tests.test_cli import free_port, start  # noqa: F401  (a fixture)


def test_the_command_line_and_the_dashboard_carry_the_token(start, tmp_path,  # noqa: F811
                                                            monkeypatch):
    port = free_port()
    running = start([sys.executable, "-m", "emulator", "--port", str(port)], port,
                    ECS_EMULATOR_CONTROL_TOKEN="on", HOME=str(tmp_path))
    running.wait_until_healthy()  # health answers without it
    url = running.url
    path = tmp_path / ".ecs-emulator" / "control" / f"{port}.token"
    token = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # The AWS APIs as ever; a control call without the token refused, and nothing happened.
    arn = running.ecs().create_cluster(clusterName="kept")["cluster"]["clusterArn"]
    refused = requests.post(f"{url}/_emulator/reset", timeout=10)
    assert refused.status_code == 403 and HEADER in refused.json()["message"]
    assert requests.post(f"{url}/moto-api/reset", timeout=10).status_code == 403
    assert requests.get(f"{url}/_emulator/ui/api/scopes", timeout=10).status_code == 403
    assert running.ecs().list_clusters()["clusterArns"] == [arn]
    # The command line sends it (its home is this test's, as the emulator's).
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["reset", "--endpoint-url", url]) == 0
    assert running.ecs().list_clusters()["clusterArns"] == []
    # The dashboard: its page opens; the link leaves the token as a cookie and drops it from
    # the address; its reads then answer.
    browser = requests.Session()
    assert browser.get(f"{url}/_emulator/ui/", timeout=10).status_code == 200
    assert browser.get(f"{url}/_emulator/ui/?token=wrong", timeout=10).status_code == 200
    assert COOKIE not in browser.cookies
    link = browser.get(f"{url}/_emulator/ui/?token={token}", allow_redirects=False, timeout=10)
    assert link.status_code == 303 and link.headers["Location"] == "/_emulator/ui/"
    assert "HttpOnly" in link.headers["Set-Cookie"] and "SameSite=Strict" in \
        link.headers["Set-Cookie"]
    assert browser.get(f"{url}/_emulator/ui/api/scopes", timeout=10).status_code == 200
    assert running.stop() == 0
    assert f"dashboard: {url}/_emulator/ui/?token={token}" in running.output()
    assert not path.exists()  # removed on stop


def test_auto_asks_for_it_once_containers_reach_this_hosts_listener(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    token = ControlToken("auto")
    environ = {"REQUEST_METHOD": "POST"}
    assert not token.refuses(environ, "/_emulator/reset")  # Linux: containers have the gateway
    token.containers_reach_loopback()  # Docker Desktop
    assert token.refuses(environ, "/_emulator/reset")
    assert not token.refuses({"HTTP_X_ECS_EMULATOR_TOKEN": token.value}, "/_emulator/reset")
    assert not token.refuses({"HTTP_COOKIE": f"{COOKIE}={token.value}"}, "/_emulator/engines")
    assert token.refuses({"HTTP_COOKIE": f"{COOKIE}=x"}, "/_emulator/engines")
    assert token.refuses({"HTTP_COOKIE": "=;;\x00"}, "/_emulator/engines")
    for open_path in ("/_emulator/health", "/_emulator/ui", "/_emulator/ui/static/app.js",
                      "/_emulator/express/c/s/x", "/_emulator/gateways/g/c/s",
                      "/_emulator/ecr/layers"):
        assert not token.refuses(environ, open_path), open_path
    token.write(4999)
    assert read_token(4999) == token.value
    ControlToken("auto").remove()  # another run's: leaves this one's file alone
    token.remove()
    assert not token_file(4999).exists()
    off = ControlToken("off")
    off.containers_reach_loopback()
    off.write(4998)
    assert not off.refuses(environ, "/_emulator/reset") and read_token(4998) is None


def test_the_plugins_handle_carries_the_token(ecs_emulator):
    token = ecs_emulator.emulator.control_token
    enforced, token.enforced = token.enforced, True  # as on Docker Desktop
    try:
        url = f"{ecs_emulator.endpoint_url}/_emulator/engines"
        assert requests.get(url, timeout=10).status_code == 403
        assert requests.get(url, headers=ecs_emulator.control_headers, timeout=10).ok
    finally:
        token.enforced = enforced


def test_a_front_door_hands_the_task_neither_the_control_cookie_nor_a_way_to_set_it():
    # Express services and gateways forward the browser's headers to a task: the operator's
    # control cookie (and header) would let the task act as the operator where the token is on.
    from emulator.front_door_routes import _names_control_cookie, _without_control_cookie

    assert _without_control_cookie("a=1; ecs_emulator_control=secret; b=2") == "a=1; b=2"
    assert _without_control_cookie("ecs_emulator_control=secret") == ""
    assert _names_control_cookie("ecs_emulator_control=mine; Path=/_emulator/; HttpOnly")
    assert not _names_control_cookie("session=1; Path=/")

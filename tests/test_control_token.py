"""The control token (access/control_token.py): where containers pass for this host, the control
endpoints ask for the run's token, which the command line reads from its file and the dashboard
gets from the link printed at start; the AWS APIs never ask for it."""

from __future__ import annotations

import stat
import sys

import requests

from emulator.access.control_token import HEADER, ControlToken, read_token, token_file
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
    # The dashboard: its page opens, token or not; it is never handed out, in a cookie or
    # otherwise (a browser sends cookies to every port of 127.0.0.1, a task's too), and a
    # cookie of the old links' is no token. Its page sends the header (test_dashboard.py).
    browser = requests.Session()
    for page in ("/_emulator/ui/", f"/_emulator/ui/?token={token}", "/_emulator/ui"):
        answer = browser.get(f"{url}{page}", allow_redirects=False, timeout=10)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers, page
        assert token not in answer.text
    assert not browser.cookies
    assert browser.get(f"{url}/_emulator/ui/api/scopes", timeout=10,
                       headers={"Cookie": f"ecs_emulator_control={token}"}).status_code == 403
    assert browser.get(f"{url}/_emulator/ui/api/scopes", timeout=10,
                       headers={HEADER: token}).status_code == 200
    assert running.stop() == 0
    # The link printed: the token in the fragment, which no request carries.
    assert f"dashboard: {url}/_emulator/ui/#token={token}" in running.output()
    assert not path.exists()  # removed on stop


def test_the_link_carries_the_token_only_once_it_is_asked_for(caplog):
    """A start-up line kept in a CI log or `docker logs` holds no token where none is needed."""
    base = "http://127.0.0.1:4566"
    auto = ControlToken("auto")
    assert auto.dashboard_link(base) == f"{base}/_emulator/ui/"
    assert auto.value not in caplog.text
    auto.containers_reach_loopback()  # Docker Desktop, seen once the emulator runs
    assert f"the dashboard: {base}/_emulator/ui/#token={auto.value}" in caplog.text
    auto.containers_reach_loopback()  # said once
    assert caplog.text.count(auto.value) == 1
    assert auto.dashboard_link(base) == f"{base}/_emulator/ui/#token={auto.value}"
    on = ControlToken("on")
    assert on.dashboard_link(base) == f"{base}/_emulator/ui/#token={on.value}"
    off = ControlToken("off")
    off.containers_reach_loopback()
    assert off.dashboard_link(base) == f"{base}/_emulator/ui/"
    seen_at_start = ControlToken("auto")
    seen_at_start.engine_seen(True, {"OperatingSystem": "Docker Desktop"})
    assert seen_at_start.value in seen_at_start.dashboard_link(base)
    assert seen_at_start.value not in caplog.text  # no link was made yet: none logged


def test_auto_asks_for_it_once_containers_reach_this_hosts_listener(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    token = ControlToken("auto")
    environ = {"REQUEST_METHOD": "POST"}
    assert not token.refuses(environ, "/_emulator/reset")  # Linux: containers have the gateway
    token.containers_reach_loopback()  # Docker Desktop
    assert token.refuses(environ, "/_emulator/reset")
    assert not token.refuses({"HTTP_X_ECS_EMULATOR_TOKEN": token.value}, "/_emulator/reset")
    assert token.refuses({"HTTP_X_ECS_EMULATOR_TOKEN": "x"}, "/_emulator/engines")
    # A cookie is no token: the browser would send it to a task's port of 127.0.0.1 too.
    assert token.refuses({"HTTP_COOKIE": f"ecs_emulator_control={token.value}"},
                         "/_emulator/engines")
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

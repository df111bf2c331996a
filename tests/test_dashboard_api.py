"""The dashboard's own HTTP side (emulator/ui/routes.py), without a browser: the page and its
files, the summary it polls (ETag and 304), where a task's output is and Docker's lines from a
cursor, the task's metadata, and honest errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.waiting import wait_for, wait_for_task

UI = "/_emulator/ui"


def get(handle, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(handle.endpoint_url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_page_and_its_files_are_served_from_the_package(clean_emulator):
    status, headers, body = get(clean_emulator, f"{UI}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'src="/_emulator/ui/static/app.js"' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    for name, kind in (("app.js", "text/javascript"), ("tasks.js", "text/javascript"),
                       ("style.css", "text/css")):
        status, headers, body = get(clean_emulator, f"{UI}/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    # Nothing is fetched from elsewhere: every URL the files name is ours.
    for name in ("index.html", "app.js", "api.js", "dom.js", "tasks.js", "services.js",
                 "ecr.js", "stacks.js", "style.css"):
        text = get(clean_emulator, f"{UI}/static/{name}")[2].decode()
        assert "https://" not in text and "//cdn" not in text
    assert get(clean_emulator, f"{UI}/static/missing.js")[0] == 404
    assert get(clean_emulator, f"{UI}/static/..%2Fsummary.py")[0] == 404
    status, _, body = get(clean_emulator, f"{UI}/api/summary?region=not%20a%20region")
    assert status == 400 and "region" in json.loads(body)["message"]
    status, _, body = get(clean_emulator, f"{UI}/api/tasks/0123abcd/metadata")
    assert status == 404 and json.loads(body)["message"].startswith("no task 0123abcd")


@pytest.mark.docker
def test_summary_output_and_metadata_of_a_running_task(clean_emulator, busybox_image):
    ecs = clean_emulator.client("ecs")
    ecs.create_cluster(clusterName="ui")
    ecs.register_task_definition(family="talk", containerDefinitions=[{
        "name": "talk", "image": busybox_image, "memory": 32, "stopTimeout": 1,
        "portMappings": [{"containerPort": 80, "hostPort": 0}],
        "command": ["sh", "-c", "echo first; sleep 1; echo second; exec sleep 3600"]}])
    ecs.create_service(cluster="ui", serviceName="svc", taskDefinition="talk", desiredCount=1)
    arn = wait_for(lambda: ecs.list_tasks(cluster="ui")["taskArns"], bool)[0]
    wait_for_task(ecs, "ui", arn, "RUNNING")

    status, headers, body = get(clean_emulator, f"{UI}/api/summary?region=us-east-1")
    summary = json.loads(body)
    assert status == 200 and summary["clusters"][0]["name"] == "ui"
    service = summary["services"][0]
    assert (service["name"], service["desired"], service["running"], service["pending"]) == \
        ("svc", 1, 1, 0)
    task = summary["tasks"][0]
    assert (task["id"], task["lastStatus"], task["group"]) == (arn.rsplit("/", 1)[-1], "RUNNING",
                                                              "service:svc")
    assert task["ports"][0]["containerPort"] == 80 and task["ports"][0]["hostPort"] > 0
    # Unchanged state: 304 and no body, so a polling page costs almost nothing.
    status, _, body = get(clean_emulator, f"{UI}/api/summary?region=us-east-1",
                          {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""

    task_id = arn.rsplit("/", 1)[-1]
    sources = json.loads(get(clean_emulator, f"{UI}/api/tasks/{task_id}/logs")[2])
    assert sources == {"taskArn": arn, "containers": [{"name": "talk", "source": "docker"}]}
    lines = wait_for(lambda: json.loads(get(clean_emulator,
                                            f"{UI}/api/tasks/{task_id}/logs/talk")[2]),
                     lambda answer: len(answer["lines"]) == 2, timeout=10)
    assert [line["message"] for line in lines["lines"]] == ["first", "second"]
    after = lines["cursor"]
    later = json.loads(get(clean_emulator, f"{UI}/api/tasks/{task_id}/logs/talk?after={after}")[2])
    assert later["lines"] == [] and later["gone"] is False

    metadata = json.loads(get(clean_emulator, f"{UI}/api/tasks/{arn}/metadata")[2])
    assert metadata["TaskARN"] == arn and metadata["Containers"][0]["Name"] == "talk"
    # Another account sees none of it.
    other = json.loads(get(clean_emulator, f"{UI}/api/summary?account=210987654321")[2])
    assert other["clusters"] == [] and other["tasks"] == []
    ecs.delete_service(cluster="ui", service="svc", force=True)

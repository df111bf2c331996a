"""One task cannot starve the listeners others need (engine/task_images.py, front_doors.py)."""

from __future__ import annotations

import json

import pytest

from tests.test_task_credentials import python_image  # noqa: F401  (a fixture)
from tests.test_task_metadata import output_of, register, run, stop

pytestmark = pytest.mark.docker

# A task whose container names images of a registry on its own address that accepts connections
# and never answers (a listening socket nobody accepts on: the kernel completes the handshake),
# from FLOODERS threads at once, each its own connection, no retries.
FLOOD = r'''
import json, os, socket, threading, time
import boto3
from botocore.config import Config
ip = socket.gethostbyname(socket.gethostname())
silent = socket.socket(); silent.bind(("0.0.0.0", 5000)); silent.listen(1024)
codes, lock = {}, threading.Lock()
def flood(n):
    ecs = boto3.client("ecs", config=Config(retries={"max_attempts": 1}, read_timeout=30))
    i, until = 0, time.monotonic() + float(os.environ["SECONDS_"])
    while time.monotonic() < until:
        i += 1
        try:
            ecs.register_task_definition(family="f", containerDefinitions=[
                {"name": "x", "image": f"{ip}:5000/f{n}-{i}:1", "memory": 32}])
            code = "OK"
        except Exception as error:
            code = getattr(error, "response", {}).get("Error", {}).get("Code", type(error).__name__)
        with lock:
            codes[code] = codes.get(code, 0) + 1
print("FLOODING", flush=True)
threads = [threading.Thread(target=flood, args=(n,)) for n in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
print("CODES", json.dumps(codes), flush=True)
print("END", flush=True)
time.sleep(300)
'''
# Another container reads its metadata every 50 ms while the flood runs: each read's seconds.
PROBE = r'''
import json, os, time, urllib.request
time.sleep(2)
seen, until = [], time.monotonic() + float(os.environ["SECONDS_"]) - 3
while time.monotonic() < until:
    began = time.monotonic()
    try:
        urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"] + "/task", timeout=10).read()
        seen.append(round(time.monotonic() - began, 4))
    except Exception as error:
        seen.append(str(error))
    time.sleep(0.05)
print("SEEN", json.dumps(seen), flush=True)
print("END", flush=True)
time.sleep(300)
'''


def test_a_task_naming_silent_registries_leaves_the_listener_to_other_tasks(
        ecs, cluster, python_image, docker_client):
    environment = [{"name": "SECONDS_", "value": "14"},
                   {"name": "AWS_ACCESS_KEY_ID", "value": "test"},
                   {"name": "AWS_SECRET_ACCESS_KEY", "value": "test"}]
    definition = register(
        ecs, {"name": "flood", "image": python_image, "memory": 128,
              "command": ["python3", "-c", FLOOD], "environment": environment},
        {"name": "probe", "image": python_image, "memory": 64,
         "command": ["python3", "-c", PROBE], "environment": environment},
        family="starve", networkMode="bridge")
    arn = run(ecs, cluster, definition)
    flooded = output_of(docker_client, arn, "flood", "END", timeout=90)
    probed = output_of(docker_client, arn, "probe", "END", timeout=90)
    codes = json.loads(flooded.split("CODES ", 1)[1].splitlines()[0])
    seen = json.loads(probed.split("SEEN ", 1)[1].splitlines()[0])
    print(codes)
    times = sorted(s for s in seen if isinstance(s, float))
    print(len(seen), len(times), times[len(times) // 2], times[-5:], [s for s in seen if not isinstance(s, float)][:3])
    stop(ecs, cluster, arn, docker_client)
    assert False

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
# Another task names images of a registry on its own address that refuses connections (its
# check is answered at once), a few times while the flood goes on: each answer's code and message.
PROBE = r"""
import json, socket, time
import boto3
from botocore.config import Config
ip = socket.gethostbyname(socket.gethostname())
ecs = boto3.client("ecs", config=Config(retries={"max_attempts": 1}))
for k in range(4):
    try:
        ecs.register_task_definition(family="p", containerDefinitions=[
            {"name": "x", "image": f"{ip}:5001/p{k}:1", "memory": 32}])
        print("ANSWER OK", flush=True)
    except Exception as error:
        print("ANSWER", error.response["Error"]["Code"], error.response["Error"]["Message"],
              flush=True)
    time.sleep(0.3)
print("END", flush=True)
time.sleep(300)
"""
CREDENTIALS = [{"name": "AWS_ACCESS_KEY_ID", "value": "test"},
               {"name": "AWS_SECRET_ACCESS_KEY", "value": "test"}]


def test_a_task_naming_silent_registries_holds_one_image_check_and_leaves_others_theirs(
        ecs, cluster, python_image, docker_client):
    """engine/task_images.py: one check in flight per task, the rest of its calls throttled at
    once; another task's calls are checked meanwhile, never told to try again for the flood."""
    flood = run(ecs, cluster, register(
        ecs, {"name": "flood", "image": python_image, "memory": 128,
              "command": ["python3", "-c", FLOOD],
              "environment": CREDENTIALS + [{"name": "SECONDS_", "value": "10"}]},
        family="flood"))
    output_of(docker_client, flood, "flood", "FLOODING", timeout=60)
    probe = run(ecs, cluster, register(
        ecs, {"name": "probe", "image": python_image, "memory": 64,
              "command": ["python3", "-c", PROBE], "environment": CREDENTIALS},
        family="probe"))
    answers = [line for line in output_of(docker_client, probe, "probe", "END").splitlines()
               if line.startswith("ANSWER ")]
    flooded = output_of(docker_client, flood, "flood", "END", timeout=60)
    codes = json.loads(flooded.split("CODES ", 1)[1].splitlines()[0])
    stop(ecs, cluster, probe, docker_client)
    stop(ecs, cluster, flood, docker_client)
    # The probe's registry refused Docker's connection: that is the answer, every time.
    assert len(answers) == 4 and all(
        line.startswith("ANSWER AccessDeniedException ") and "try again" not in line and
        "could not be asked about without credentials" in line for line in answers), answers
    # The flood: a check at a time (each refused after the 5 s deadline), the rest throttled.
    assert set(codes) == {"ThrottlingException", "AccessDeniedException"}, codes
    assert codes["AccessDeniedException"] <= 4 < codes["ThrottlingException"], codes

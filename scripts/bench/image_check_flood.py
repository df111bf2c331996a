"""Image check flood benchmark: another task's metadata and credentials reads while one task
floods the emulator with calls naming a registry that never answers (engine/task_images.py).

    .venv/bin/python scripts/bench/image_check_flood.py [--rounds 2] [--seconds 15]
        [--base DIR]     # DIR: `git archive main emulator api_shapes | tar -x -C DIR`

Each side is our server (`python -m emulator --quiet` on a free port, no 169.254.170.2: the
tasks read credentials at the emulator's gateway); `--base` adds a second side, the same server
with PYTHONPATH=DIR (another commit's emulator), and the sides alternate, round by round. In
each run, on one cluster:
- the flood task (the python-boto3 test image) listens on its own address's port 5000 and never
  accepts (the kernel completes the handshakes: a registry that never answers), and calls
  RegisterTaskDefinition naming `<its address>:5000/<new name>` from 8 threads, each its own
  connection, no SDK retries, for `--seconds`;
- the probe task (the same image, another task) reads its task metadata
  (`$ECS_CONTAINER_METADATA_URI_V4/task`) and its container's in turn every 50 ms meanwhile,
  each with a 10 s timeout, and prints each read's seconds. (Its credentials are served on
  169.254.170.2 by a listener of the same kind and threads, which the bench leaves to the test
  suites that share this host.)
Prints, per run: the reads' count, p50, p99 and max in ms and those not answered, the flood's
answers by error code, the server's CPU seconds, and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3
import docker

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "ecs-emulator-test/python-boto3:latest"
KEYS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
FLOOD = r'''
import json, os, socket, threading, time
import boto3
from botocore.config import Config
ip = socket.gethostbyname(socket.gethostname())
silent = socket.socket(); silent.bind(("0.0.0.0", 5000)); silent.listen(1024)
codes, lock = {}, threading.Lock()
def flood(n):
    ecs = boto3.client("ecs", config=Config(retries={"total_max_attempts": 1}, read_timeout=30))
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
time.sleep(300)
'''
PROBE = r'''
import json, os, time, urllib.request
base = os.environ["ECS_CONTAINER_METADATA_URI_V4"]
reads = {"task": (base + "/task", {}), "container": (base, {})}
seen = {name: [] for name in reads}
print("PROBING", flush=True)
until = time.monotonic() + float(os.environ["SECONDS_"])
while time.monotonic() < until:
    for name, (url, headers) in reads.items():
        began = time.monotonic()
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10).read()
            seen[name].append(time.monotonic() - began)
        except Exception as error:
            seen[name].append(type(error).__name__)
        time.sleep(0.05)
print("SEEN", json.dumps(seen), flush=True)
time.sleep(300)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def logs_until(docker_client, arn: str, text: str, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for container in docker_client.containers.list(
                filters={"label": f"ecs-emulator.task-arn={arn}"}):
            printed = container.logs().decode()
            if text in printed:
                return printed
        time.sleep(0.2)
    raise TimeoutError(f"{text!r} not printed by {arn}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(base: str | None, seconds: float, docker_client) -> dict:
    port = free_port()
    env = dict(os.environ, ECS_EMULATOR_LINK_LOCAL_CREDENTIALS="0",
               ECS_EMULATOR_FRONT_DOOR_PORT=str(free_port()))
    if base:
        env["PYTHONPATH"] = base
    server = subprocess.Popen([str(ROOT / ".venv/bin/python"), "-m", "emulator", "--port",
                               str(port), "--quiet"], cwd="/", env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        client = {"endpoint_url": endpoint, "region_name": "us-east-1",
                  "aws_access_key_id": "test", "aws_secret_access_key": "test"}
        ecs = boto3.client("ecs", **client)
        for _ in range(200):
            try:
                ecs.list_clusters()
                break
            except Exception:  # noqa: BLE001 - not listening yet
                time.sleep(0.1)
        ecs.create_cluster(clusterName="bench")
        environment = [{"name": k, "value": v} for k, v in
                       {**KEYS, "SECONDS_": str(seconds)}.items()]

        def started(name: str, script: str, **extra) -> str:
            definition = ecs.register_task_definition(
                family=name, containerDefinitions=[{
                    "name": name, "image": IMAGE, "memory": 128, "stopTimeout": 1,
                    "command": ["python3", "-c", script], "environment": environment}],
                **extra)["taskDefinition"]["taskDefinitionArn"]
            return ecs.run_task(cluster="bench", taskDefinition=definition)["tasks"][0]["taskArn"]

        probe = started("probe", PROBE.replace('os.environ["SECONDS_"]',
                                               f'"{seconds - 4}"'))
        flood = started("flood", FLOOD)
        logs_until(docker_client, flood, "FLOODING")
        cpu = cpu_seconds(server.pid)
        seen = json.loads(logs_until(docker_client, probe, "SEEN ",
                                     seconds + 60).split("SEEN ", 1)[1].splitlines()[0])
        codes = json.loads(logs_until(docker_client, flood, "CODES ",
                                      seconds + 60).split("CODES ", 1)[1].splitlines()[0])
        cpu = cpu_seconds(server.pid) - cpu
        for arn in (probe, flood):
            ecs.stop_task(cluster="bench", task=arn)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and ecs.list_tasks(cluster="bench")["taskArns"]:
            time.sleep(0.3)
        return {"seen": seen, "codes": codes, "cpu": cpu}
    finally:
        server.terminate()
        server.wait(timeout=30)


def summary(seen: list) -> str:
    times = sorted(s * 1000 for s in seen if isinstance(s, float))
    failed = len(seen) - len(times)
    if not times:
        return f"n={len(seen)} none answered"
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return (f"n={len(seen):4d} p50 {statistics.median(times):7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {times[-1]:7.1f} ms  unanswered {failed}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--base", help="another commit's emulator/ and api_shapes/ (a side)")
    args = parser.parse_args()
    sides = [("this", None)] + ([("base", args.base)] if args.base else [])
    docker_client = docker.from_env()
    for round_ in range(args.rounds):
        for name, base in (sides if round_ % 2 == 0 else sides[::-1]):
            result = one_run(base, args.seconds, docker_client)
            print(f"round {round_ + 1} {name}: load {os.getloadavg()[0]:.1f}, server CPU "
                  f"{result['cpu']:.1f} s, flood answers {result['codes']}", flush=True)
            for read, seen in result["seen"].items():
                print(f"  {read:<12} {summary(seen)}", flush=True)


if __name__ == "__main__":
    sys.exit(main())

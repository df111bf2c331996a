"""Persistence benchmark: what ECS_EMULATOR_PERSIST costs a mutating call, and a restart.

    .venv/bin/python scripts/bench/persistence.py [--calls 200] [--services 100]
                                                  [--definitions 1000]

Two emulators (`ecs-emulator serve --quiet`), persistence off and on (a temporary data
directory), each measured alone: the median and p90 latency of mutating calls (ECS
RegisterTaskDefinition and TagResource, SSM PutParameter, Logs PutLogEvents) and of a read
(DescribeClusters, which writes nothing), first on empty state, then with --definitions task
definitions and --services services (desired count 0: no containers) in the ECS state; then the
persisted emulator is killed (SIGKILL) and started again on its directory: seconds until the API
answers with every service back; and the same with --running services of 2 real tasks each:
seconds until the API answers and until every service runs its tasks again (adopted, the same
tasks). Writes a markdown table to scripts/bench/results/persistence.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "ecs-emulator"
CONTAINERS = [{"name": "app", "image": "busybox:latest", "memory": 128}]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(port: int, data_dir: str | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECS_EMULATOR_")}
    env["ECS_EMULATOR_LINK_LOCAL_CREDENTIALS"] = "0"
    if data_dir:
        env.update(ECS_EMULATOR_PERSIST="1", ECS_EMULATOR_DATA_DIR=data_dir)
    log = open(Path(tempfile.gettempdir()) / f"bench-persistence-{port}.log", "ab")
    return subprocess.Popen([str(BIN), "serve", "--quiet", "--port", str(port)], env=env,
                            stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM; SIGKILL if it has not ended in 30 s (a shutdown that hangs is not measured)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"bench: pid {process.pid} did not stop on SIGTERM; killed", file=sys.stderr)
        process.kill()
        process.wait()


def client(service: str, port: int):
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def wait_for_api(port: int, services: int, timeout: float = 120) -> float:
    started = time.monotonic()
    ecs = client("ecs", port)
    while time.monotonic() - started < timeout:
        try:
            if not services:
                ecs.list_clusters()
                return time.monotonic() - started
            if len(ecs.list_services(cluster="bench", maxResults=100)["serviceArns"]) >= min(
                    services, 100):
                return time.monotonic() - started
        except Exception:
            time.sleep(0.05)
    raise RuntimeError("the emulator did not answer")


def populate(port: int, definitions: int, services: int) -> None:
    ecs = client("ecs", port)
    ecs.create_cluster(clusterName="bench")
    for number in range(definitions):
        ecs.register_task_definition(family=f"pop-{number % 50}", containerDefinitions=CONTAINERS)
    for number in range(services):
        ecs.create_service(cluster="bench", serviceName=f"s{number}", taskDefinition="pop-0",
                           desiredCount=0)


def timed(port: int, calls: int) -> dict[str, list[float]]:
    ecs, ssm, logs = client("ecs", port), client("ssm", port), client("logs", port)
    cluster = ecs.describe_clusters(clusters=["bench"])["clusters"][0]["clusterArn"]
    logs.create_log_group(logGroupName="bench")
    logs.create_log_stream(logGroupName="bench", logStreamName="s")
    work = {
        "ecs.RegisterTaskDefinition": lambda i: ecs.register_task_definition(
            family="timed", containerDefinitions=CONTAINERS),
        "ecs.TagResource": lambda i: ecs.tag_resource(
            resourceArn=cluster, tags=[{"key": "k", "value": str(i)}]),
        "ssm.PutParameter": lambda i: ssm.put_parameter(
            Name=f"p{i}", Value="v", Type="String"),
        "logs.PutLogEvents": lambda i: logs.put_log_events(
            logGroupName="bench", logStreamName="s",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": str(i)}]),
        "ecs.DescribeClusters (read)": lambda i: ecs.describe_clusters(clusters=["bench"]),
    }
    results = {}
    for name, call in work.items():
        for i in range(3):
            call(-1 - i)  # warm up (moto's first call imports a service)
        samples = []
        for i in range(calls):
            started = time.perf_counter()
            call(i)
            samples.append(time.perf_counter() - started)
        results[name] = samples
    return results


def measure(data_dir: str | None, args, populated: bool) -> dict[str, list[float]]:
    port = free_port()
    process = serve(port, data_dir)
    try:
        wait_for_api(port, 0)
        client("ecs", port).create_cluster(clusterName="bench")
        if populated:
            populate(port, args.definitions, args.services)
        return timed(port, args.calls)
    finally:
        stop(process)


def restart(args) -> tuple[float, int]:
    """Seconds until a killed persisted emulator answers with all its services; state bytes."""
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        process = serve(port, data_dir)
        wait_for_api(port, 0)
        populate(port, args.definitions, args.services)
        process.send_signal(signal.SIGKILL)
        process.wait()
        size = sum(p.stat().st_size for p in Path(data_dir, "state").iterdir())
        started = time.monotonic()
        process = serve(port, data_dir)
        try:
            wait_for_api(port, args.services)
            return time.monotonic() - started, size
        finally:
            stop(process)


def adoption(args) -> tuple[float, float, int]:
    """--running services of 2 tasks each (real containers), SIGKILL, start again: seconds until
    the API answers, and until every service is back at its count (the same tasks, adopted)."""
    image = "ecs-emulator-test/busybox:latest"  # scripts/build-test-images.sh makes it
    with tempfile.TemporaryDirectory() as data_dir:
        port = free_port()
        process = serve(port, data_dir)
        wait_for_api(port, 0)
        ecs = client("ecs", port)
        ecs.create_cluster(clusterName="bench")
        ecs.register_task_definition(family="run", containerDefinitions=[{
            "name": "app", "image": image, "memory": 16, "command": ["sleep", "3600"]}])
        names = [f"r{number}" for number in range(args.running)]
        for name in names:
            ecs.create_service(cluster="bench", serviceName=name, taskDefinition="run",
                               desiredCount=2)
        before = settled(ecs, names)
        process.send_signal(signal.SIGKILL)
        process.wait()
        started = time.monotonic()
        process = serve(port, data_dir)
        try:
            answered = wait_for_api(port, args.running)
            after = settled(ecs, names)
            assert after == before, "tasks were replaced, not adopted"
            return answered, time.monotonic() - started, 2 * args.running
        finally:
            stop(process)


def settled(ecs, names: list[str], timeout: float = 900) -> set[str]:
    """Wait until every service of `names` runs its count with none pending; the ARNs of the
    running tasks of family "run" (persisted_start.py waits the same way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services = []
        for start in range(0, len(names), 10):
            services += ecs.describe_services(cluster="bench",
                                              services=names[start:start + 10])["services"]
        if all(s["runningCount"] == s["desiredCount"] and s["pendingCount"] == 0
               for s in services):
            arns: set[str] = set()
            for page in ecs.get_paginator("list_tasks").paginate(
                    cluster="bench", family="run", desiredStatus="RUNNING"):
                arns.update(page["taskArns"])
            return arns
        time.sleep(0.1)
    raise RuntimeError("the services did not reconcile")


def report(text: str, output: str | None, title: str, script: str) -> None:
    """Print the results; write them, under a title and the command, to `output` if given."""
    print(text)
    if output:
        Path(output).write_text(f"# {title}\n\n`" + " ".join([script] + sys.argv[1:])
                                + "`\n\n" + text)


def ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--definitions", type=int, default=1000)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--running", type=int, default=10, help="services of 2 real tasks")
    parser.add_argument("--output", default=str(REPO / "scripts/bench/results/persistence.md"))
    args = parser.parse_args()
    lines = ["| call | state | off: median / p90 ms | on: median / p90 ms "
             "| added per call (median) |", "|---|---|---|---|---|"]
    for populated in (False, True):
        off = measure(None, args, populated)
        with tempfile.TemporaryDirectory() as data_dir:
            on = measure(data_dir, args, populated)
        label = (f"{args.definitions} definitions, {args.services} services" if populated
                 else "empty")
        for name in off:
            added = statistics.median(on[name]) - statistics.median(off[name])
            lines.append(f"| {name} | {label} | {ms(off[name], .5):.1f} / "
                         f"{ms(off[name], .9):.1f} | {ms(on[name], .5):.1f} / "
                         f"{ms(on[name], .9):.1f} | {added * 1000:+.1f} ms |")
    seconds, size = restart(args)
    lines.append("")
    lines.append(f"Restart after SIGKILL with {args.definitions} task definitions and "
                 f"{args.services} services ({size / 1024:.0f} KiB of state): the API answers "
                 f"with every service after {seconds:.2f} s (process start included).")
    answered, reconciled, tasks = adoption(args)
    lines.append("")
    lines.append(f"Restart after SIGKILL with {args.running} services of 2 running tasks "
                 f"({tasks} containers): the API answers after {answered:.2f} s, every service "
                 f"runs its tasks again (the same ones, adopted) after {reconciled:.2f} s.")
    report("\n".join(lines) + "\n", args.output, "Persistence", "scripts/bench/persistence.py")


if __name__ == "__main__":
    main()

"""Engines benchmark: 60 tasks placed over 3 Docker Engines against 60 on one, and how soon a
service is steady again after its engine restarts.

    .venv/bin/python scripts/bench/engines.py [--rounds 3] [--tasks 60] [--output results/engines.md]

Runs as root (it starts two extra dockerds with scripts/extra-dockerd.sh, beside the machine's
own, and removes them after). Each round, in turn:
- one engine: an emulator on the machine's engine, RunTask (EC2, count 10 at a time) until all
  tasks are RUNNING, then StopTask until all are STOPPED;
- three engines: the same with ECS_EMULATOR_ENGINES naming the two extra ones and the spread
  strategy by instanceId (20 tasks on each);
- restart: a service of 3 tasks on an extra engine (as the only engine), that dockerd stopped and
  started: seconds from `docker version` answering again to the service's 3 new tasks RUNNING.
All engines share this machine's CPUs, so three engines measure the cost of placement and of
driving several engines, not more capacity.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from emulator.config import Settings  # noqa: E402
from emulator.pytest_plugin import EmulatorHandle, start_server  # noqa: E402

SCRIPT = ROOT / "scripts" / "extra-dockerd.sh"
IMAGE = "ecs-emulator-test/busybox:latest"
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def dockerd(command: str, name: str, index: int) -> str:
    return subprocess.run([str(SCRIPT), command, name, str(index)], check=True,
                          capture_output=True, text=True).stdout.strip()


def load(host: str) -> None:
    save = subprocess.Popen(["docker", "save", IMAGE], stdout=subprocess.PIPE)
    subprocess.run(["docker", "-H", host, "load", "-q"], stdin=save.stdout, check=True,
                   capture_output=True)
    save.wait()


def emulator(**settings) -> tuple[object, EmulatorHandle]:
    server = start_server(Settings(host="127.0.0.1", port=0, link_local_credentials=False,
                                   steady_after_s=1.0, **settings))
    return server, EmulatorHandle(server)


def wait_status(ecs, arns: list[str], status: str, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = []
        for start in range(0, len(arns), 100):
            seen += ecs.describe_tasks(cluster="bench", tasks=arns[start:start + 100])["tasks"]
        if all(t["lastStatus"] == status for t in seen):
            return
        time.sleep(0.1)
    raise TimeoutError(f"tasks not {status} after {timeout} s")


def place(handle: EmulatorHandle, tasks: int, spread: bool) -> float:
    ecs = handle.client("ecs", check_shapes=False)
    ecs.create_cluster(clusterName="bench")
    ecs.register_task_definition(family="b", containerDefinitions=[
        {"name": "main", "image": IMAGE, "memory": 8, "command": SERVE}])
    strategy = [{"type": "spread", "field": "instanceId"}] if spread else []
    began = time.perf_counter()
    arns = []
    while len(arns) < tasks:
        response = ecs.run_task(cluster="bench", taskDefinition="b", launchType="EC2",
                                count=min(10, tasks - len(arns)), placementStrategy=strategy)
        assert not response["failures"], response["failures"]
        arns += [t["taskArn"] for t in response["tasks"]]
    wait_status(ecs, arns, "RUNNING")
    seconds = time.perf_counter() - began
    for arn in arns:
        ecs.stop_task(cluster="bench", task=arn)
    wait_status(ecs, arns, "STOPPED")
    return seconds


def restart(host: str, name: str, index: int) -> float:
    server, handle = emulator(docker_host=host)
    try:
        ecs = handle.client("ecs", check_shapes=False)
        ecs.create_cluster(clusterName="bench")
        ecs.register_task_definition(family="s", containerDefinitions=[
            {"name": "main", "image": IMAGE, "memory": 8, "command": SERVE}])
        ecs.create_service(cluster="bench", serviceName="s", taskDefinition="s", desiredCount=3,
                           launchType="EC2")
        running = lambda: [a for a in ecs.list_tasks(cluster="bench", serviceName="s")["taskArns"]]  # noqa: E731
        while len(running()) < 3:
            time.sleep(0.1)
        wait_status(ecs, running(), "RUNNING")
        before = set(running())
        dockerd("stop", name, index)
        time.sleep(3)
        dockerd("start", name, index)  # returns once `docker version` answers
        back = time.perf_counter()
        while True:
            now = set(running()) - before
            if len(now) == 3:
                tasks = ecs.describe_tasks(cluster="bench", tasks=list(now))["tasks"]
                if all(t["lastStatus"] == "RUNNING" for t in tasks):
                    return time.perf_counter() - back
            time.sleep(0.05)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--output", default=None)
    args = parser.parse_args()
    hosts = {}
    try:
        for name, index in (("bench-b", 4), ("bench-c", 5)):
            dockerd("remove", name, index)
            hosts[name] = dockerd("start", name, index)
            load(hosts[name])
        one, three, back = [], [], []
        for _ in range(args.rounds):
            server, handle = emulator()
            try:
                one.append(place(handle, args.tasks, spread=False))
            finally:
                server.stop()
            server, handle = emulator(engines=tuple(hosts.items()))
            try:
                three.append(place(handle, args.tasks, spread=True))
            finally:
                server.stop()
            back.append(restart(hosts["bench-b"], "bench-b", 4))
            print(f"round: one {one[-1]:.2f} s, three {three[-1]:.2f} s, "
                  f"steady after restart {back[-1]:.2f} s", flush=True)
    finally:
        for name, index in (("bench-b", 4), ("bench-c", 5)):
            dockerd("remove", name, index)
    lines = [
        f"# Engines ({args.tasks} tasks, median of {args.rounds} rounds)", "",
        "| row | seconds | per task |", "|---|---|---|",
        f"| {args.tasks} tasks on one engine, all RUNNING | {statistics.median(one):.2f} | "
        f"{statistics.median(one) / args.tasks * 1000:.0f} ms |",
        f"| {args.tasks} tasks over 3 engines (spread), all RUNNING | "
        f"{statistics.median(three):.2f} | {statistics.median(three) / args.tasks * 1000:.0f} ms |",
        f"| a service of 3 on a restarted engine: engine answers -> 3 new tasks RUNNING | "
        f"{statistics.median(back):.2f} | |",
    ]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.output:
        Path(args.output).write_text(report)


if __name__ == "__main__":
    main()

"""Where N tasks started at once spend their time: each runner step and Docker call, timed inside
an in-process emulator.

    .venv/bin/python scripts/bench/task_steps.py [--tasks 20] [--rounds 3] [--mode bridge]

RunTask (count 10 per call) until DescribeTasks says every task RUNNING, polled every 20 ms, as
tasks.py's "20 at once" row; then StopTask of each until STOPPED (not timed). The runtime's and
the runners' methods are wrapped to note when each call began and ended, from the first RunTask:
per step, how many calls, when the first began, when the last began, when the last ended, and the
median call. If every create began within a few tens of ms and the starts take seconds each, the
time is Docker's (the calls are not held back on our side: no lock around them, no queue).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from emulator.config import Settings  # noqa: E402
from emulator.engine import sandbox_pool, task_runner  # noqa: E402
from emulator.pytest_plugin import EmulatorHandle, start_server  # noqa: E402
from emulator.runtime import docker_runtime  # noqa: E402

IMAGE = "ecs-emulator-test/busybox:latest"
COMMAND = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
RUNTIME_CALLS = ("create_sandbox", "name_sandbox", "ensure_image", "image_digest", "create_container",
                 "start_container", "inspect_container")
RUNNER_STEPS = ("_spare", "_provision", "_create_containers", "_start_containers", "_mark_running")

calls: list[tuple[str, float, float]] = []


def _wrap(cls, name: str) -> None:
    original = getattr(cls, name)

    def timed(self, *args, **kwargs):
        began = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            calls.append((name, began, time.perf_counter()))

    setattr(cls, name, timed)


def one_round(ecs, definition: str, count: int, extra: dict) -> None:
    calls.clear()
    began = time.perf_counter()
    arns = []
    while len(arns) < count:
        arns += [t["taskArn"] for t in ecs.run_task(
            cluster="steps", taskDefinition=definition, count=min(10, count - len(arns)),
            **extra)["tasks"]]
    while any(t["lastStatus"] != "RUNNING"
              for t in ecs.describe_tasks(cluster="steps", tasks=arns)["tasks"]):
        time.sleep(0.02)
    print(f"{count} tasks RUNNING in {(time.perf_counter() - began) * 1000:.0f} ms")
    print("| step | calls | first began ms | last began ms | last ended ms | median call ms |")
    print("|---|---|---|---|---|---|")
    for name in RUNNER_STEPS + RUNTIME_CALLS:
        mine = [(a - began, b - began) for n, a, b in calls if n == name]
        if mine:
            print(f"| {name} | {len(mine)} | {min(a for a, _ in mine) * 1000:.0f} | "
                  f"{max(a for a, _ in mine) * 1000:.0f} | {max(b for _, b in mine) * 1000:.0f} | "
                  f"{statistics.median(b - a for a, b in mine) * 1000:.0f} |")
    for arn in arns:
        ecs.stop_task(cluster="steps", task=arn)
    while any(t["lastStatus"] != "STOPPED"
              for t in ecs.describe_tasks(cluster="steps", tasks=arns)["tasks"]):
        time.sleep(0.05)
    _settle_spares(count)


def _settle_spares(count: int) -> None:
    """Untimed: until the sandbox pool has made the spares it keeps after a burst of `count`
    (engine/sandbox_pool.py), so the next round is a burst after one like it."""
    import docker

    wanted = min(count, Settings.sandbox_pool_burst) if count >= sandbox_pool.BURST_MIN else 1
    labels = ["ecs-emulator.container-name=~pool", f"ecs-emulator.pid={os.getpid()}"]
    api, deadline = docker.APIClient(), time.monotonic() + 10 * wanted
    while time.monotonic() < deadline and len(
            api.containers(filters={"label": labels, "status": "running"})) < wanted:
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=("bridge", "awsvpc"), default="bridge")
    args = parser.parse_args(argv)
    for name in RUNTIME_CALLS:
        _wrap(docker_runtime.DockerRuntime, name)
    for name in RUNNER_STEPS:
        _wrap(task_runner.TaskRunner, name)
    server = start_server(Settings.from_env(host="127.0.0.1", port=0))
    try:
        ecs = EmulatorHandle(server, region="us-east-1").client("ecs")
        ecs.create_cluster(clusterName="steps")
        definition = ecs.register_task_definition(
            family="steps", networkMode=args.mode, containerDefinitions=[
                {"name": "main", "image": IMAGE, "memory": 64, "command": COMMAND}],
        )["taskDefinition"]["taskDefinitionArn"]
        extra = ({"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}
                 if args.mode == "awsvpc" else {})
        for index in range(args.rounds):
            with open("/proc/loadavg") as load:
                print(f"\nround {index + 1}/{args.rounds}, load average {load.read().split()[0]}")
            one_round(ecs, definition, args.tasks, extra)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the default bridge's anti-spoofing guard costs a task's start: Docker calls per task until
RUNNING, counted on the runtime's own Docker client, and the guard's admission time (README,
Speed).

    .venv/bin/python scripts/bench/guard_cost.py [--tasks 10]

An emulator in this process with ECS_EMULATOR_TASK_NETWORK=default-bridge and no sandbox pool
(every task attaches itself: the pool's spares are admitted when made, out of a task's way), as
root (the guard's nftables). Rows: a bridge task of one busybox container, the same publishing a
port (the runner inspects it for its host port), an awsvpc task. scripts/bench/docker_calls.py
cannot count this mode: its counting proxy is a socket server that is not the dockerd, where
the default bridge is refused (engine_locality.py). Run it on another checkout (PYTHONPATH) to
count that one's calls the same way.
"""

from __future__ import annotations

import collections
import statistics
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emulator.config import Settings  # noqa: E402
from emulator.pytest_plugin import running_emulator  # noqa: E402

COUNTED = ("create_container_from_config", "start", "inspect_container", "remove_container",
           "inspect_network", "connect_container_to_network",
           "disconnect_container_from_network")
ROWS = (("bridge", {}, {}), ("bridge+port", {"portMappings": [{"containerPort": 80}]}, {}),
        ("awsvpc", {}, {"networkMode": "awsvpc"}))
AWSVPC = {"networkConfiguration": {"awsvpcConfiguration": {"subnets": ["subnet-1"]}}}


def counting(api, counts: collections.Counter, lock: threading.Lock) -> None:
    for name in COUNTED:
        def counted(*args, _real=getattr(api, name), _name=name, **kwargs):
            with lock:
                counts[_name] += 1
            return _real(*args, **kwargs)
        setattr(api, name, counted)


def timed_admissions(runtime) -> list[float]:
    took: list[float] = []
    holders = getattr(runtime, "holders", None)
    if holders is None:
        return took
    admit = holders.guard.admit

    def timed(*args):
        began = time.perf_counter()
        admit(*args)
        took.append(time.perf_counter() - began)

    holders.guard.admit = timed
    return took


def wait_status(ecs, arns: list[str], status: str) -> None:
    while not all(t["lastStatus"] == status
                  for t in ecs.describe_tasks(cluster="bench", tasks=arns)["tasks"]):
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    count = int(argv[argv.index("--tasks") + 1]) if "--tasks" in argv else 10
    settings = replace(Settings.from_env(), task_network="default-bridge", sandbox_pool=0)
    with running_emulator(settings) as handle:
        runtime = handle.emulator.engine.runtime
        print(f"tasks on {runtime.ensure_network()[0]}, guarded: "
              f"{getattr(runtime, 'holders', None) is not None}")
        counts, lock = collections.Counter(), threading.Lock()
        counting(runtime.api, counts, lock)
        took = timed_admissions(runtime)
        ecs = handle.client("ecs")
        ecs.create_cluster(clusterName="bench")
        for label, container, network in ROWS:
            definition = ecs.register_task_definition(
                family=label.replace("+", "-"), **network, containerDefinitions=[
                    {"name": "app", "image": "ecs-emulator-test/busybox", "memory": 32,
                     "command": ["sleep", "300"], "stopTimeout": 1, **container}])
            with lock:
                counts.clear()
            arns = [t["taskArn"] for t in ecs.run_task(
                cluster="bench", count=count,
                taskDefinition=definition["taskDefinition"]["taskDefinitionArn"],
                **(AWSVPC if network else {}))["tasks"]]
            wait_status(ecs, arns, "RUNNING")
            with lock:
                calls = dict(counts)
            print(f"{label}: Docker calls per task until RUNNING: "
                  + ", ".join(f"{name} {n / count:g}" for name, n in sorted(calls.items())))
            for arn in arns:
                ecs.stop_task(cluster="bench", task=arn)
            wait_status(ecs, arns, "STOPPED")
        if took:
            print(f"guard admissions: {len(took)}, median {statistics.median(took) * 1000:.1f} ms,"
                  f" max {max(took) * 1000:.1f} ms")
    with open("/proc/loadavg") as load:
        print(f"load average {load.read().split()[0]} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

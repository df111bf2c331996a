"""Engine choice benchmark: what choosing the Docker Engine of a Fargate task costs while the
store holds many live tasks.

    .venv/bin/python scripts/bench/engine_choice.py [--tasks 1000 5000] [--choices 200]
    PYTHONPATH=<a checkout> python scripts/bench/engine_choice.py   # the same on another checkout

In process, no Docker: the ECS state, the task engine on the fake runtime and three engines
(each a fake runtime). `--tasks` live tasks are put in the store, spread over the engines (and
counted as the engines count a task they run), then the choice for a new task is made
`--choices` times under the state lock, as a runner makes it. Median microseconds per choice.
Before engine_load.py the choice counted every task of the store, for each engine; it now reads
the kept counts, so the figure no longer grows with the tasks.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from emulator.config import Settings
from emulator.ecs.store import EcsState
from emulator.ecs.task_model import Task
from emulator.engine.engines import Engines
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.fake import FakeRuntime

ENGINES = (("b", "unix:///b.sock"), ("c", "unix:///c.sock"))


def measure(count: int, choices: int) -> float:
    settings = dataclasses.replace(Settings(), engines=ENGINES)
    state = EcsState()
    engines = Engines(TaskEngine(state, FakeRuntime, settings), settings,
                      lambda environment: FakeRuntime())
    store = state.store_for("123456789012", "us-east-1")
    names = list(engines.engines)
    fields = {f.name for f in dataclasses.fields(Task) if f.init}
    for index in range(count):
        task = Task(**{k: v for k, v in _task_fields(index).items() if k in fields})
        task.engine = names[index % len(names)]
        store.tasks[task.arn] = task
        if hasattr(engines, "load"):  # this checkout keeps counts: count it as runtime_for does
            engines.load.count(task)
    new = Task(**{k: v for k, v in _task_fields(count).items() if k in fields})
    timings = []
    for _ in range(choices):
        began = time.perf_counter()
        with state.lock:
            engines._choose(store, new)
        timings.append(time.perf_counter() - began)
    return statistics.median(timings) * 1e6


def _task_fields(index: int) -> dict:
    return {"arn": f"arn:aws:ecs:us-east-1:123456789012:task/c/{index:032x}",
            "id": f"{index:032x}", "cluster_name": "c", "cluster_arn": "arn:c",
            "definition": None, "launch_type": "FARGATE", "capacity_provider": None,
            "containers": [], "overrides": {}, "cpu": "256", "memory": "512",
            "network_mode": "awsvpc", "group": f"service:s{index % 10}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--choices", type=int, default=200)
    args = parser.parse_args()
    print("| live tasks | engines | median per choice (µs) |")
    print("|---|---|---|")
    for count in args.tasks:
        print(f"| {count} | 3 | {measure(count, args.choices):.1f} |")


if __name__ == "__main__":
    main()

"""Task door benchmark: what RunTask and StopTask cost while the store holds many stopped tasks.

    .venv/bin/python scripts/bench/task_door.py [--stopped 1000] [--runs 200]
    PYTHONPATH=<a checkout> python scripts/bench/task_door.py   # the same on another checkout

In process, no Docker, no HTTP: the ECS state, the task engine on the fake runtime, and
EventBridge's task events wired as app.py wires them (moto not loaded, so no event is sent: what
is measured is finding what to send). `--stopped` STOPPED tasks are put in the store first (ECS
keeps a stopped task an hour). Then, `--runs` times: RunTask (EC2, on the local host), until the
engine has a runner for the task ("pickup"), then StopTask. Medians of each, in milliseconds,
and the process CPU per cycle. Before the task door the engine and the events walked every task
of every store after each change; the door hands the engine its task and tells the events of
the transition, so these figures no longer grow with the stopped tasks.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from api_shapes import load_service
from emulator.aws.context import RequestContext
from emulator.config import Settings
from emulator.ecs import clusters, task_definitions, tasks
from emulator.ecs.local_instance import LocalHost
from emulator.ecs.store import EcsState
from emulator.engine.ecs_events import EcsEvents
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.fake import FakeRuntime
from emulator.runtime.status import TaskStatus

ACCOUNT, REGION = "123456789012", "us-east-1"


class _NoMoto:
    loaded = False  # EcsEvents sends nothing, as when no rule listens


def _world():
    fake = FakeRuntime()
    state = EcsState()
    state.local_host = LocalHost(lambda: (1 << 20, 1 << 24))  # room for every task
    engine = TaskEngine(state, lambda: fake, dataclasses.replace(Settings()))
    events = EcsEvents(state, _NoMoto())
    engine.task_listeners.append(events.on_task_changed)
    if hasattr(state, "door"):  # the task door: events hear of admissions and stop requests
        state.door.watchers.append(events.on_task_changed)
    else:  # before it: events walked every task after each change
        state.listeners.append(events.on_state_changed)
    store = state.store_for(ACCOUNT, REGION)
    with state.lock:
        clusters.create(store, _request("CreateCluster", {"clusterName": "c"}))
        arn = task_definitions.register(store, RequestContext(ACCOUNT, REGION), _request(
            "RegisterTaskDefinition", {"family": "bench", "containerDefinitions": [
                {"name": "main", "image": "app", "memory": 6}]})).arn
    return state, engine, store, arn


def _fill(state, store, arn: str, count: int) -> None:
    """`count` STOPPED tasks, made by RunTask before the engine starts, then stopped."""
    with state.lock:
        for _ in range(count // 10):
            ran, _ = tasks.run(store, _request("RunTask", {
                "cluster": "c", "taskDefinition": arn, "count": 10}))
            for task in ran:
                task.request_stop("UserInitiated", "old")
                task.advance(TaskStatus.STOPPED)


def _request(operation: str, params: dict):
    """`operation`'s request as its handler hands it to the domain: as named values."""
    return load_service("ecs").request(operation, params)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stopped", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    state, engine, store, arn = _world()
    _fill(state, store, arn, args.stopped)
    engine.start()
    run_ms, pickup_ms, stop_ms = [], [], []
    cpu = time.process_time()
    try:
        one = _request("RunTask", {"cluster": "c", "taskDefinition": arn})
        for _ in range(args.runs):
            began = time.perf_counter()
            with state.lock:
                task = tasks.run(store, one)[0][0]
            run_ms.append((time.perf_counter() - began) * 1000)
            while task.arn not in engine._runners:
                time.sleep(0.0002)
            pickup_ms.append((time.perf_counter() - began) * 1000)
            began = time.perf_counter()
            with state.lock:
                tasks.stop(store, "c", task.arn, "enough")
            stop_ms.append((time.perf_counter() - began) * 1000)
        cpu_ms = (time.process_time() - cpu) * 1000 / args.runs
    finally:
        engine.stop()
    print(f"{args.stopped} stopped tasks, {args.runs} runs (medians, ms): "
          f"RunTask {statistics.median(run_ms):.2f}, engine pickup "
          f"{statistics.median(pickup_ms):.2f}, StopTask {statistics.median(stop_ms):.2f}; "
          f"process CPU per run+stop {cpu_ms:.2f}")


if __name__ == "__main__":
    main()

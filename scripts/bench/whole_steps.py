"""Where a user's whole test goes: services.py's `whole` cycle step by step, beside raw Docker.

    .venv/bin/python scripts/bench/whole_steps.py [--rounds 9] [--base DIR]

Each round runs the cycle (reset; cluster and task definition; CreateService of a 2-task
Fargate service; the services_stable waiter with a 1 s delay; scale to 0; reset) on our server
and, with --base, on a server of another checkout of the project (`git archive <commit> | tar -x
-C DIR`: the code before a change, servers.py's "base"), and services.py's raw_whole (two
pause-plus-app pairs started, then stopped and removed), in alternating order. It prints, per
side, the median of each step (ms) and of the DescribeServices calls the waiter made (1: it
found the service steady at once; 2: it slept its delay once), and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402  (siblings, found through the path set above)
from docker_peer import COMMAND, IMAGE, MEMORY_MIB, RawDocker, pause_image  # noqa: E402
from ours_ecs import AWSVPC, Ours, say  # noqa: E402
from services import _reset, raw_whole  # noqa: E402


def cycle(server: Ours) -> dict[str, float]:
    """One whole test on `server`: seconds per step, and the waiter's DescribeServices calls."""
    ecs, steps, calls = server.ecs, {}, []

    def count(**_):
        calls.append(1)

    def step(name, fn):
        began = time.perf_counter()
        result = fn()
        steps[name] = time.perf_counter() - began
        return result

    began = time.perf_counter()
    step("reset", lambda: _reset(server, "ours"))
    definition = step("cluster+register", lambda: (ecs.create_cluster(clusterName="whole"),
                                                   ecs.register_task_definition(
        family="whole", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "main", "image": IMAGE, "memory": MEMORY_MIB,
                                             "command": COMMAND, "essential": True}]))[1]
    )["taskDefinition"]["taskDefinitionArn"]
    step("CreateService", lambda: ecs.create_service(
        cluster="whole", serviceName="web", taskDefinition=definition, desiredCount=2,
        launchType="FARGATE", networkConfiguration=AWSVPC))
    ecs.meta.events.register("before-call.ecs.DescribeServices", count)
    step("waiter", lambda: ecs.get_waiter("services_stable").wait(
        cluster="whole", services=["web"], WaiterConfig={"Delay": 1, "MaxAttempts": 120}))
    ecs.meta.events.unregister("before-call.ecs.DescribeServices", count)
    step("scale to 0", lambda: ecs.update_service(cluster="whole", service="web",
                                                  desiredCount=0))
    step("final reset", lambda: _reset(server, "ours"))
    steps["total"] = time.perf_counter() - began
    steps["waiter calls"] = len(calls)
    return steps


def raw_cycle(raw: RawDocker, pause: str) -> dict[str, float]:
    return {"total": raw_whole(raw, pause)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--base", help="a checkout of the code to compare with")
    args = parser.parse_args(argv)
    if args.base:
        os.environ["ECS_BENCH_BASE"] = args.base
    loads = [os.getloadavg()[0]]
    raw, pause = RawDocker(), pause_image()
    servers_ = {"ours": Ours(servers.log_dir())}
    if args.base:
        servers_["base"] = Ours(servers.log_dir(), "base")
    sides = {name: (lambda s=s: cycle(s)) for name, s in servers_.items()}
    sides["raw"] = lambda: raw_cycle(raw, pause)
    runs: dict[str, list[dict]] = {name: [] for name in sides}
    try:
        for fn in sides.values():
            fn()  # a warm-up of each, not counted
        for index in range(args.rounds):
            order = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in order:
                runs[name].append(sides[name]())
            say(f"round {index + 1}/{args.rounds}: " + ", ".join(
                f"{name} {runs[name][-1]['total'] * 1000:.0f} ms" for name in sides))
    finally:
        raw.close()
        for server in servers_.values():
            server.close()
    loads.append(os.getloadavg()[0])
    raw_ms = statistics.median(r["total"] for r in runs["raw"]) * 1000
    for name, done in runs.items():
        medians = {key: statistics.median(r[key] for r in done) for key in done[0]}
        shown = ", ".join(f"{key} {value:.0f}" if key == "waiter calls" else
                          f"{key} {value * 1000:.0f} ms" for key, value in medians.items())
        print(f"{name}: {shown}; {medians['total'] * 1000 / raw_ms:.2f}x raw")
    print(f"{args.rounds} rounds, load average {loads[0]:.1f} at the start, {loads[1]:.1f} at "
          "the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())

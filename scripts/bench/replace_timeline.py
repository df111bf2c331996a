"""Where a service task's replacement goes: Docker's events beside what ECS shows, per step.

    .venv/bin/python scripts/bench/replace_timeline.py [--rounds 5]

A bridge service of one task (the busybox test image); each round `docker kill`s its task's
container and follows, from the kill (ms, medians over the rounds): Docker's die event of the
old container; DescribeTasks showing the old task's desiredStatus STOPPED (ECS saw it die); the
new container's create and start events; the old container's destroy (its removal); the pool's
next spare made; DescribeServices back at runningCount 1. Polled every 5 ms. Beside it raw
Docker's kill, die, create + start of the same container (services.py's raw-replace side).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402  (siblings, found through the path set above)
from docker_peer import RawDocker, client  # noqa: E402
from ours_ecs import Ours, say  # noqa: E402
from services import TASK_ARN_LABEL, Services  # noqa: E402

POLL = 0.005


class Events:
    """Docker's container events in order, (seconds, action, id, labels)."""

    def __init__(self):
        self.seen: list[tuple[float, str, str, dict]] = []
        self._stream = client().events(decode=True, filters={"type": ["container"]})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for event in self._stream:
            attributes = event.get("Actor", {}).get("Attributes", {})
            self.seen.append((event["timeNano"] / 1e9, event["Action"], event["id"], attributes))

    def first(self, after: float, action: str, where) -> float | None:
        for at, seen, container, labels in list(self.seen):
            if at >= after and seen == action and where(container, labels):
                return at
        return None


def one(services: Services, name: str, events: Events) -> dict[str, float]:
    [arn] = services.running_tasks(name)
    [container] = client().containers(filters={"label": f"{TASK_ARN_LABEL}={arn}"})
    old = container["Id"]
    time.sleep(0.3)
    began = time.time()
    threading.Thread(target=client().kill, args=(old,), daemon=True).start()
    steps: dict[str, float] = {}
    while "gone" not in steps or "running 1" not in steps:
        now = time.time()
        if "gone" not in steps and services.ours.describe([arn])[0]["desiredStatus"] == "STOPPED":
            steps["gone"] = now
        service = services.describe(name, None)
        if service["runningCount"] == 1 and service["pendingCount"] == 0 and "gone" in steps:
            steps["running 1"] = now
        time.sleep(POLL)
    time.sleep(1.5)  # the teardown's and the pool's events
    new = lambda c, labels: c != old and labels.get(TASK_ARN_LABEL) not in (None, arn)  # noqa: E731
    pool = lambda c, labels: labels.get("ecs-emulator.container-name") == "~pool"  # noqa: E731
    steps["die"] = events.first(began, "die", lambda c, _: c == old)
    steps["new create"] = events.first(began, "create", new)
    steps["new start"] = events.first(began, "start", new)
    steps["old destroy"] = events.first(began, "destroy", lambda c, _: c == old)
    steps["spare start"] = events.first(began, "start", pool)
    return {step: (at - began) * 1000 for step, at in steps.items() if at is not None}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    events = Events()
    ours, raw = Ours(servers.log_dir()), RawDocker()
    services = Services(ours)
    try:
        name = services.create("timeline-replace", 1)
        one(services, name, events)  # warm-up
        ours.settle_spares()
        found: dict[str, list[float]] = {}
        raws = []
        for index in range(rounds):
            for step, ms in one(services, name, events).items():
                found.setdefault(step, []).append(ms)
            ours.settle_spares()
            container = raw.run_bridge()
            time.sleep(0.3)
            raws.append(raw.replace_killed(container) * 1000)
            say(f"round {index + 1}/{rounds}")
    finally:
        services.delete_all()
        raw.close()
        ours.close()
    print(f"raw kill, die, create + start: {statistics.median(raws):.0f} ms")
    for step, values in sorted(found.items(), key=lambda item: statistics.median(item[1])):
        print(f"{step:>14}: {statistics.median(values):6.0f} ms  "
              f"({min(values):.0f}-{max(values):.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a task's start goes: Docker's own events beside our RunTask, against raw Docker.

    .venv/bin/python scripts/bench/task_timeline.py [--rounds 7]

For a bridge task of ours (RunTask until DescribeTasks says RUNNING, polled every 10 ms) the
Docker Engine's event stream gives the moments Docker created the container, attached it to a
network and started it; beside it, raw create+start of the same container on the default bridge
and on a user-defined bridge network (as ours). Sides alternate; medians in ms:

- before create: from the call (RunTask; for raw, create_container) to Docker's create event:
  our request handling, task hooks, image check, thread hand-off;
- create -> start: Docker's own create, network attach and start (of which create -> connect:
  from Docker's create event to its network connect event, which comes as start begins);
- start -> seen: from Docker's start event to the client knowing (for raw: start() returning;
  for ours, our start-up bookkeeping plus the poll that saw RUNNING).
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


class Events:
    """Docker's events (container create/start, network connect), by container id, in seconds."""

    def __init__(self):
        self.seen: dict[str, dict[str, float]] = {}
        self._stream = client().events(decode=True, filters={"type": ["container", "network"]})
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            for event in self._stream:
                action = event.get("Action") or event.get("status")
                if event.get("Type") == "network" and action == "connect":
                    cid = event["Actor"]["Attributes"].get("container", "")
                else:
                    cid = event.get("id") or event.get("Actor", {}).get("ID", "")
                if action in ("create", "start", "connect"):
                    self.seen.setdefault(cid, {}).setdefault(action, event["timeNano"] / 1e9)
        except Exception:
            pass

    def wait_for(self, cid: str, action: str, timeout: float = 10.0) -> dict[str, float]:
        deadline = time.monotonic() + timeout
        while action not in self.seen.get(cid, {}) and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.seen.get(cid, {})

    def close(self) -> None:
        self._stream.close()


def _parts(stamps: dict[str, float], began: float, done: float) -> tuple[float, ...]:
    connect = stamps.get("connect", stamps["start"])
    return (stamps["create"] - began, stamps["start"] - stamps["create"], done - stamps["start"],
            connect - stamps["create"])


def raw_side(raw: RawDocker, events: Events) -> tuple[float, ...]:
    began = time.time()
    cid = raw._create("app", "ecs-emulator-test/busybox:latest", raw.network,
                      ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"])
    raw.api.start(cid)
    done = time.time()
    stamps = events.wait_for(cid, "start")
    raw.remove(cid)
    return _parts(stamps, began, done)


def ours_side(ours: Ours, events: Events) -> tuple[float, ...]:
    began = time.time()
    [arn] = ours.run_tasks("bridge")
    ours.wait_status([arn], "RUNNING")
    done = time.time()
    [container] = client().containers(filters={"label": f"ecs-emulator.task-arn={arn}"})
    stamps = events.wait_for(container["Id"], "start")
    ours.stop_and_wait([arn])
    return _parts(stamps, began, done)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    events = Events()
    sides = {"raw, default bridge": RawDocker(), "raw, user-defined network":
             RawDocker(user_network=True)}
    ours = Ours(servers.log_dir())
    figures: dict[str, list[tuple[float, ...]]] = {n: [] for n in [*sides, "ours"]}
    loads = []
    try:
        for index in range(args.rounds + 1):  # the first round warms up, not counted
            order = [*sides, "ours"]
            order = order[index % 3:] + order[: index % 3]
            for name in order:
                result = ours_side(ours, events) if name == "ours" else raw_side(sides[name],
                                                                                  events)
                if index:
                    figures[name].append(result)
            with open("/proc/loadavg") as load:
                loads.append(load.read().split()[0])
            say(f"round {index}/{args.rounds} done (load {loads[-1]})")
    finally:
        for raw in sides.values():
            raw.close()
        ours.close()
        events.close()
    print(f"load average after each round: {', '.join(loads)}")
    print("| | before create ms | create -> start ms | start -> seen ms | total ms "
          "| (create -> connect ms) |")
    print("|---|---|---|---|---|---|")
    for name, rows in figures.items():
        parts = [statistics.median(r[i] for r in rows) * 1000 for i in range(4)]
        total = statistics.median(sum(r[:3]) for r in rows) * 1000
        print(f"| {name} | " + " | ".join(f"{p:.0f}" for p in parts[:3])
              + f" | {total:.0f} | {parts[3]:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

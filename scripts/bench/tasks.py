"""Task benchmark: our RunTask/StopTask against raw Docker doing the same containers' work.

    .venv/bin/python scripts/bench/tasks.py [--rounds 7] [--output results/tasks.md]
        [--task-network emulator|default-bridge]

Rows, each timed in every round for both sides (which side goes first alternates):
- bridge: raw create+start of the image and command, vs RunTask until DescribeTasks says RUNNING;
- awsvpc: raw pause container create+start then the app in its namespace, vs RunTask awsvpc;
- 20 at once: raw 20 create+start on 20 threads, vs RunTask count=10 twice until all RUNNING
  (a burst after one like it: the pool keeps spares for it, engine/sandbox_pool.py);
- first: the same 20 at once as a first burst (ours reset before, untimed: no spares for it);
- firstnet: that first burst against raw's 20 on a user-defined bridge network, as ours are (not
  the target's floor: what of ours is beyond Docker's own work on the same kind of network);
- stop: raw stop+remove, vs StopTask until STOPPED (the command exits on SIGTERM).
After each run of ours the bench waits, untimed, until our sandbox pool has made its spare again
(engine/sandbox_pool.py: awsvpc tasks and one-container bridge tasks take one), so that
background work does not land in the next side's time (nor in our own timed stop).
MiniStack (the bench virtualenv's, as api.py runs it) is a second peer: the same RunTask and
StopTask calls and polling as ours, timed between raw and ours in every pair (without it
installed, run api.py once to make .cache/bench-venv). Ours is polled with DescribeTasks every 10 ms (20 ms for 20 tasks, whose calls are heavier); the
report says what that polling added (the poll that saw a step minus the task's own timestamp of
it) and the CPU our server used per run. Runs in the project's virtualenv
(it needs the docker SDK); ours is `python -m emulator` on a free port. `--task-network` runs
ours with ECS_EMULATOR_TASK_NETWORK set so (default: the emulator's own default, default-bridge,
tasks on Docker's default bridge as raw's are; emulator: its own network), and says which under
the table.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402
from docker_peer import RawDocker, pause_image, timed  # noqa: E402
from figures import Row  # noqa: E402
from ours_ecs import POLL_MANY_S, POLL_S, Ours, Polls, say  # noqa: E402

MANY = 20
POOL_BURST, BURST_MIN = 20, 4  # the pool's defaults (config.py, engine/sandbox_pool.py)
TARGET = 1.10  # issue 13: at most 1.10x raw Docker on the default bridge


def raw_bridge(raw: RawDocker, _) -> float:
    seconds, container = timed(raw.run_bridge)
    raw.remove(container)
    return seconds


def ours_start(ours: Ours, polls: Polls | None, mode: str, counts: tuple[int, ...]) -> float:
    """RunTask (once per count) until DescribeTasks shows every task RUNNING; then clean up."""
    began, cpu = time.perf_counter(), ours.server_cpu_s()
    arns = [arn for count in counts for arn in ours.run_tasks(mode, count)]
    ours.wait_status(arns, "RUNNING", polls, "startedAt")
    seconds = time.perf_counter() - began
    if polls is not None:
        polls.server_cpu_s.append(ours.server_cpu_s() - cpu)
    ours.stop_and_wait(arns)
    ours.settle_spares(min(len(arns), POOL_BURST) if len(arns) >= BURST_MIN else 1)
    return seconds


def raw_awsvpc(raw: RawDocker, pause: str) -> float:
    seconds, (sandbox, app) = timed(raw.run_pair, pause)
    raw.remove(app, sandbox)
    return seconds


def raw_many(raw: RawDocker, _) -> float:
    seconds, containers = timed(raw.run_many, MANY, MANY)
    with ThreadPoolExecutor(max_workers=MANY) as pool:
        list(pool.map(raw.remove, containers))
    return seconds


def raw_many_user_network(raw: RawDocker, pause) -> float:
    return raw_many(raw.on_user_network(), pause)


def raw_stop(raw: RawDocker, _) -> float:
    container = raw.run_bridge()
    time.sleep(0.2)  # the shell has set its trap
    seconds, _ = timed(raw.stop_and_remove, container)
    return seconds


def ours_stop(ours: Ours, polls: Polls | None) -> float:
    arns = ours.run_tasks("bridge")
    ours.wait_status(arns, "RUNNING")
    ours.settle_spares()  # the spare it took is made again before the timed stop, not during
    time.sleep(0.2)
    began, cpu = time.perf_counter(), ours.server_cpu_s()
    ours.stop_tasks(arns)
    ours.wait_status(arns, "STOPPED", polls, "stoppedAt")
    seconds = time.perf_counter() - began
    if polls is not None:
        polls.server_cpu_s.append(ours.server_cpu_s() - cpu)
    return seconds


def ours_first_burst(ours: Ours, polls: Polls | None) -> float:
    """The 20 at once with no burst seen before (a reset first, untimed): the pool holds none
    for it, as for a user's first burst of a kind of task (the "many" row is a burst after one
    like it, within the two minutes the pool keeps spares for it)."""
    ours.forget_bursts()
    return ours_start(ours, polls, "bridge", HALVES)


HALVES = (MANY // 2, MANY - MANY // 2)
ROWS = {  # key: (name, raw, ours, poll interval)
    "bridge": ("bridge: one task RUNNING", raw_bridge,
               lambda ours, polls: ours_start(ours, polls, "bridge", (1,)), POLL_S),
    "awsvpc": ("awsvpc: one task RUNNING", raw_awsvpc,
               lambda ours, polls: ours_start(ours, polls, "awsvpc", (1,)), POLL_S),
    "many": (f"{MANY} tasks at once RUNNING", raw_many,
             lambda ours, polls: ours_start(ours, polls, "bridge", HALVES), POLL_MANY_S),
    "stop": ("stop: one task STOPPED", raw_stop, ours_stop, POLL_S),
    "first": (f"{MANY} at once, a first burst RUNNING", raw_many, ours_first_burst, POLL_MANY_S),
    "firstnet": (f"{MANY} at once, a first burst, raw on a user-defined network",
                 raw_many_user_network, ours_first_burst, POLL_MANY_S),
}


def measure(rounds: int, keys: list[str]) -> tuple[list[Row], Ours]:
    raw, pause = RawDocker(), pause_image()
    ours = Ours(servers.log_dir())
    peer = Ours(servers.log_dir(), "ministack") if servers.peer_python().exists() else None
    rows = [Row(ROWS[key][0], TARGET, peer_note="" if peer else "not installed")
            for key in keys]
    try:
        for row, key in zip(rows, keys):  # a warm-up of each, not counted
            _, raw_fn, ours_fn, _ = ROWS[key]
            raw_fn(raw, pause), ours_fn(ours, None)
            if peer is not None:
                figures.guarded(row, lambda: ours_fn(peer, None))()
        passes = 0
        for index in range(rounds):
            for row, key in zip(rows, keys):
                name, raw_fn, ours_fn, interval = ROWS[key]
                polls = ours.record(name, interval)
                for _ in range(1 if key in ("many", "first", "firstnet") else figures.LIGHT_REPEATS):
                    passes += 1
                    figures.measure_pair(row, lambda: raw_fn(raw, pause),
                                         lambda: ours_fn(ours, polls), polls, passes % 2 == 1,
                                         peer_fn=peer and figures.guarded(
                                             row, lambda: ours_fn(peer, None)))
                shown = f", MiniStack {row.peer[-1] * 1000:.0f} ms" if row.peer else ""
                say(f"round {index + 1}/{rounds} {name}: raw {row.raw[-1] * 1000:.0f} ms, "
                    f"ours {row.ours[-1] * 1000:.0f} ms{shown}")
    finally:
        raw.close()
        ours.close()
        if peer is not None:
            peer.close()
    return rows, ours


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    network = servers.task_network(argv)  # ours' setting, for its process
    argv += ["--note", f"Ours ran with ECS_EMULATOR_TASK_NETWORK={network}."]
    return figures.run(argv, doc=__doc__, rows=ROWS, measure=measure, title="Task benchmark: ours vs raw Docker",
                       script=__file__, output="tasks.md", say=say)


if __name__ == "__main__":
    sys.exit(main())

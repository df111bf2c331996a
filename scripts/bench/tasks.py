"""Task benchmark: our RunTask/StopTask against raw Docker doing the same containers' work.

    .venv/bin/python scripts/bench/tasks.py [--rounds 7] [--output results/tasks.md]

Rows, each timed in every round for both sides (which side goes first alternates):
- bridge: raw create+start of the image and command, vs RunTask until DescribeTasks says RUNNING;
- awsvpc: raw pause container create+start then the app in its namespace, vs RunTask awsvpc;
- 20 at once: raw 20 create+start on 20 threads, vs RunTask count=10 twice until all RUNNING;
- stop: raw stop+remove, vs StopTask until STOPPED (the command exits on SIGTERM).
Ours is polled with DescribeTasks every 10 ms; the report says what that polling added (the
poll that saw a step minus the task's own timestamp of it). Runs in the project's virtualenv
(it needs the docker SDK); ours is `python -m emulator` on a free port.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import figures  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402
from docker_peer import RawDocker, pause_image, timed  # noqa: E402
from figures import Row  # noqa: E402
from ours_ecs import POLL_S, Ours, say  # noqa: E402

MANY = 20
TARGET = 1.15


def raw_bridge(raw: RawDocker, _) -> float:
    seconds, container = timed(raw.run_bridge)
    raw.remove(container)
    return seconds


def ours_bridge(ours: Ours, _) -> float:
    began = time.perf_counter()
    arns = ours.run_tasks("bridge")
    ours.wait_status(arns, "RUNNING", "startedAt")
    seconds = time.perf_counter() - began
    ours.stop_and_wait(arns)
    return seconds


def raw_awsvpc(raw: RawDocker, pause: str) -> float:
    seconds, (sandbox, app) = timed(raw.run_pair, pause)
    raw.remove(app, sandbox)
    return seconds


def ours_awsvpc(ours: Ours, _) -> float:
    began = time.perf_counter()
    arns = ours.run_tasks("awsvpc")
    ours.wait_status(arns, "RUNNING", "startedAt")
    seconds = time.perf_counter() - began
    ours.stop_and_wait(arns)
    return seconds


def raw_many(raw: RawDocker, _) -> float:
    seconds, containers = timed(raw.run_many, MANY, MANY)
    with ThreadPoolExecutor(max_workers=MANY) as pool:
        list(pool.map(raw.remove, containers))
    return seconds


def ours_many(ours: Ours, _) -> float:
    began = time.perf_counter()
    arns = ours.run_tasks("bridge", MANY // 2) + ours.run_tasks("bridge", MANY - MANY // 2)
    ours.wait_status(arns, "RUNNING", "startedAt")
    seconds = time.perf_counter() - began
    ours.stop_and_wait(arns)
    return seconds


def raw_stop(raw: RawDocker, _) -> float:
    container = raw.run_bridge()
    time.sleep(0.2)  # the shell has set its trap
    seconds, _ = timed(raw.stop_and_remove, container)
    return seconds


def ours_stop(ours: Ours, _) -> float:
    arns = ours.run_tasks("bridge")
    ours.wait_status(arns, "RUNNING")
    time.sleep(0.2)
    began = time.perf_counter()
    ours.stop_tasks(arns)
    ours.wait_status(arns, "STOPPED", "stoppedAt")
    return time.perf_counter() - began


ROWS = {  # key: (name, raw, ours)
    "bridge": ("bridge: one task RUNNING", raw_bridge, ours_bridge),
    "awsvpc": ("awsvpc: one task RUNNING", raw_awsvpc, ours_awsvpc),
    "many": (f"{MANY} tasks at once RUNNING", raw_many, ours_many),
    "stop": ("stop: one task STOPPED", raw_stop, ours_stop),
}


def measure(rounds: int, keys: list[str]) -> tuple[list[Row], Ours]:
    raw, pause = RawDocker(), pause_image()
    ours = Ours(servers.log_dir())
    rows = [Row(ROWS[key][0], TARGET) for key in keys]
    try:
        for key in keys:  # a warm-up of each, not counted
            _, raw_fn, ours_fn = ROWS[key]
            raw_fn(raw, pause), ours_fn(ours, pause)
        ours.polls.latencies.clear(), ours.polls.lags.clear()
        for index in range(rounds):
            for row, key in zip(rows, keys):
                name, raw_fn, ours_fn = ROWS[key]
                sides = [("raw", raw_fn, raw), ("ours", ours_fn, ours)]
                for side, fn, target in sides if index % 2 == 0 else sides[::-1]:
                    getattr(row, side).append(fn(target, pause))
                say(f"round {index + 1}/{rounds} {name}: raw {row.raw[-1] * 1000:.0f} ms, "
                    f"ours {row.ours[-1] * 1000:.0f} ms")
    finally:
        raw.close()
        ours.close()
    return rows, ours


def polling_line(ours: Ours) -> str:
    call, lag = ours.polls.call_ms(), ours.polls.lag_ms()
    if call is None or lag is None:
        return ""
    return (f"Polling: DescribeTasks every {POLL_S * 1000:.0f} ms took {call:.1f} ms a call (median); "
            f"the poll that saw RUNNING or STOPPED came a median {lag:.1f} ms after the task's own "
            "startedAt/stoppedAt, so about that much of each ours figure is the client's polling.")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()] or list(ROWS)
    unknown = set(keys) - set(ROWS)
    if unknown:
        raise SystemExit(f"unknown rows: {', '.join(sorted(unknown))} (known: {', '.join(ROWS)})")
    rows, ours = measure(args.rounds, keys)
    print(figures.text(rows))
    polling = polling_line(ours)
    print(polling)
    if args.output:
        out = Path(args.output)
        out.write_text("\n".join([
            "# Task benchmark: ours vs raw Docker", "",
            "Written by `.venv/bin/python scripts/bench/tasks.py`; the module's docstring has the "
            "method.", "", figures.setup_line(args.rounds), "", figures.markdown(rows), "",
            polling, "", *args.notes, ""]))
        say(f"wrote {out}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated rows: bridge,awsvpc,many,stop (default: all)")
    parser.add_argument("--output", default=str(Path(__file__).resolve().parent / "results" /
                                                "tasks.md"), help="markdown file ('' to skip)")
    parser.add_argument("--note", dest="notes", action="append", default=[],
                        help="a paragraph to add under the table")
    return parser


if __name__ == "__main__":
    sys.exit(main())

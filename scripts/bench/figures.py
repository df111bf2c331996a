"""Seconds measured per row and side (raw Docker, ours, and MiniStack as a second peer) over
rounds, and the tables made of them: medians, ratios ours/raw against a target, ours/MiniStack,
and how noisy the rounds were."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
from dataclasses import dataclass, field

import servers


@dataclass
class Row:
    name: str
    target: float  # the most ours/raw may be
    raw: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    # ours minus the polling lag: until the server's own timestamp of the step (what the
    # emulator took, without the client's polling)
    stamped: list[float] = field(default_factory=list)
    peer: list[float] = field(default_factory=list)  # MiniStack, the same steps as ours
    peer_note: str = ""  # why MiniStack has no figure in this row, when it has none

    def peer_ratio(self) -> float | None:
        if not self.peer or not self.ours:
            return None
        return statistics.median(self.ours) / statistics.median(self.peer)

    def ratio(self) -> float | None:
        if not self.raw or not self.ours:
            return None
        return statistics.median(self.ours) / statistics.median(self.raw)

    def stamped_ratio(self) -> float | None:
        if not self.raw or not self.stamped:
            return None
        return statistics.median(self.stamped) / statistics.median(self.raw)

    def paired(self) -> float | None:
        """The median of each pair's ours/raw (measured back to back): less moved by load that
        drifts between rounds."""
        pairs = [o / r for o, r in zip(self.ours, self.raw) if r]
        return statistics.median(pairs) if pairs else None

    def met(self) -> bool:
        ratio = self.ratio()
        return ratio is not None and ratio <= self.target


def measure_pair(row: Row, raw_fn, ours_fn, polls, raw_first: bool, peer_fn=None) -> None:
    """One raw and one ours figure for `row` (and MiniStack's, given `peer_fn`), in the order
    given (the peer between them); ours less its polling lag too (`polls` gets a lag from each
    timed wait that had the server's timestamp to compare)."""
    sides = [("raw", raw_fn)] + ([("peer", peer_fn)] if peer_fn else []) + [("ours", ours_fn)]
    for side, fn in sides if raw_first else sides[::-1]:
        lags = len(polls.lags)
        seconds = fn()
        if seconds is not None:
            getattr(row, side).append(seconds)
        if side == "ours" and len(polls.lags) > lags:
            row.stamped.append(row.ours[-1] - polls.lags[-1])


def guarded(row: Row, fn):
    """`fn` for the peer side of `row`: a failure notes why in the row and drops the peer from it
    (a row MiniStack cannot do says so instead of stopping the run)."""
    def run():
        if row.peer_note:
            return None
        try:
            return fn()
        except (Exception, SystemExit) as error:  # SystemExit: a wait that gave up
            row.peer_note = f"cannot: {str(error)[:80]}"
            row.peer.clear()
            return None
    return run


def _ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f}" if values else "—"


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return "—"
    return f"{(max(values) - min(values)) / statistics.median(values):.0%}"


def _range(values: list[float]) -> str:
    return f"{min(values) * 1000:.0f}–{max(values) * 1000:.0f}" if values else "—"


LIGHT_REPEATS = 3  # rows of one task are quick and noisy: more pairs per round

HEADER = ["", "raw ms", "ours ms", "ours/raw", "target", "met", "MiniStack ms", "ours/MiniStack",
          "per-pair ratio",
          "ours by server stamp ms", "its ratio", "raw min–max ms", "ours min–max ms",
          "raw spread", "ours spread"]


def cells(row: Row) -> list[str]:
    ratio, paired = row.ratio(), row.paired()
    return [row.name, _ms(row.raw), _ms(row.ours), "—" if ratio is None else f"{ratio:.2f}x",
            f"≤ {row.target:.2f}x", "yes" if row.met() else "NO",
            _ms(row.peer) if row.peer else (row.peer_note or "—"),
            "—" if row.peer_ratio() is None else f"{row.peer_ratio():.2f}x",
            "—" if paired is None else f"{paired:.2f}x", _ms(row.stamped),
            "—" if row.stamped_ratio() is None else f"{row.stamped_ratio():.2f}x", _range(row.raw),
            _range(row.ours), _spread(row.raw), _spread(row.ours)]


def text(rows: list[Row]) -> str:
    table = [HEADER] + [cells(r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in table]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths)] + lines[1:])


def markdown(rows: list[Row]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    return "\n".join(out + ["| " + " | ".join(cells(r)) + " |" for r in rows])


def loadavg() -> float:
    """The host's 1-minute load average (other work competes with Docker and us)."""
    with open("/proc/loadavg") as load:
        return float(load.read().split()[0])


def setup_line(rounds: int, loads: tuple[float, float]) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "-C", str(servers.REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    docker = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"],
                            capture_output=True, text=True).stdout.strip() or "?"
    return (f"{when}; ours at commit {commit}; Docker Engine {docker}; {os.cpu_count()} CPUs shared "
            f"with other work. {rounds} rounds (rows of one task: {LIGHT_REPEATS} pairs a round), "
            "sides alternating first; medians shown; ours/raw "
            "is the ratio of the medians (what the target is checked on), per-pair ratio the "
            "median of each pair's ours/raw; ours by server stamp is each ours figure less its "
            "polling lag (until the task's own startedAt/stoppedAt: the emulator without the "
            "client's polling); spread is (max-min)/median over the rounds. Load average "
            f"{loads[0]:.1f} at the start, {loads[1]:.1f} at the end.")


def run(argv, *, doc: str, rows: dict, measure, title: str, script: str, output: str,
        say=print) -> int:
    """The command line both tasks.py and services.py have: pick rows, measure, print, and write
    the markdown results file."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--only", default="", help="comma-separated rows: " + ",".join(rows))
    parser.add_argument("--output", default=str(Path(script).resolve().parent / "results" / output),
                        help="markdown file ('' to skip)")
    parser.add_argument("--note", dest="notes", action="append", default=[],
                        help="a paragraph to add under the table")
    args = parser.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()] or list(rows)
    unknown = set(keys) - set(rows)
    if unknown:
        raise SystemExit(f"unknown rows: {', '.join(sorted(unknown))} (known: {', '.join(rows)})")
    load = loadavg()
    measured, ours = measure(args.rounds, keys)
    loads = (load, loadavg())
    print(text(measured))
    polling = [polls.line(name) for name, polls in ours.polls.items()]
    print("\n".join(polling))
    if args.output:
        out = Path(args.output)
        out.write_text("\n".join([
            f"# {title}", "",
            f"Written by `.venv/bin/python scripts/bench/{Path(script).name}`; the module's "
            "docstring has the method.", "", setup_line(args.rounds, loads), "",
            markdown(measured), "",
            "What polling added (ours only):", "", *[f"- {line}" for line in polling], "",
            *args.notes, ""]))
        say(f"wrote {out}")
    return 0

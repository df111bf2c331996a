"""The registry benchmark's figures and their tables: MiB/s per row and side over rounds, medians,
ratios ours/distribution against the targets, noise, the server's CPU time, and peak memory; as
plain text for the terminal and as markdown for results/registry.md."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
from dataclasses import dataclass, field

import servers

# The least ours/distribution may be, per row (download has none: it is shown, not judged).
TARGETS = {"docker push": 1.0, "docker pull": 1.0, "upload monolithic": 0.8,
           "upload chunked": 0.8, "upload streamed": 0.8}
RSS_TARGET_MIB = 120
SIDES = ("distribution", "ours")


@dataclass
class Memory:
    rest_mib: float
    peak_mib: float
    mib_per_s: float


@dataclass
class Table:
    # row -> side -> [(MiB/s, server CPU seconds per 100 MiB)], in the order of the rounds
    rows: dict = field(default_factory=dict)

    def add(self, row: str, side: str, mib_per_s: float, cpu: float) -> None:
        self.rows.setdefault(row, {}).setdefault(side, []).append((mib_per_s, cpu))

    def speeds(self, row: str, side: str) -> list[float]:
        return [speed for speed, _ in self.rows[row].get(side, [])]

    def cpus(self, row: str, side: str) -> list[float]:
        return [cpu for _, cpu in self.rows[row].get(side, [])]

    def ratio(self, row: str) -> float | None:
        ours, theirs = self.speeds(row, "ours"), self.speeds(row, "distribution")
        if not ours or not theirs:
            return None
        return statistics.median(ours) / statistics.median(theirs)

    def paired(self, row: str) -> float | None:
        """The median of each round's ratio: less moved by load that drifts between rounds."""
        pairs = [o / d for o, d in zip(self.speeds(row, "ours"), self.speeds(row, "distribution"))]
        return statistics.median(pairs) if pairs else None


HEADER = ["", "distribution MiB/s", "ours MiB/s", "ours/dist", "target", "met",
          "per-round ratio", "dist min–max", "ours min–max", "dist spread", "ours spread",
          "dist CPU s/100MiB", "ours CPU s/100MiB"]


def _cells(table: Table, row: str) -> list[str]:
    ratio, paired, target = table.ratio(row), table.paired(row), TARGETS.get(row)
    met = "—" if target is None or ratio is None else ("yes" if ratio >= target else "NO")
    cells = [row]
    cells += [_median(table.speeds(row, side)) for side in SIDES]
    cells += [_x(ratio), "—" if target is None else f"≥ {target:.1f}x", met, _x(paired)]
    cells += [_range(table.speeds(row, side)) for side in SIDES]
    cells += [_spread(table.speeds(row, side)) for side in SIDES]
    cells += [_median(table.cpus(row, side), "{:.2f}") for side in SIDES]
    return cells


def _memory_lines(memory: dict) -> list[list[str]]:
    header = ["", "at rest MiB", "peak MiB", "target", "met", "push MiB/s"]
    lines = [header]
    for side in SIDES:
        if side not in memory:
            continue
        m = memory[side]
        target = f"≤ {RSS_TARGET_MIB}" if side == "ours" else "—"
        met = ("yes" if m.peak_mib <= RSS_TARGET_MIB else "NO") if side == "ours" else "—"
        lines.append([side, f"{m.rest_mib:.0f}", f"{m.peak_mib:.0f}", target, met,
                      f"{m.mib_per_s:.0f}"])
    return lines


def text(table: Table, memory: dict) -> str:
    blocks = [_aligned([HEADER] + [_cells(table, row) for row in table.rows])]
    if memory:
        blocks.append(_aligned(_memory_lines(memory)))
    return "\n\n".join(blocks)


def markdown(table: Table, memory: dict, args, versions: dict) -> str:
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "-C", str(servers.REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    out = [
        "# Registry: ours against CNCF distribution",
        "",
        f"{when}; ours at commit {commit} (Python {sys.version.split()[0]}, cheroot); "
        f"distribution {versions.get('distribution', '?')} (Debian's docker-registry); "
        f"Docker Engine {versions.get('docker', '?')}; {os.cpu_count()} CPUs shared with other "
        f"work, load average at the end {load}.",
        "",
        f"`scripts/bench/registry.py --rounds {args.rounds} --image-mb {args.image_mb} "
        f"--layers {args.layers} --blob-mb {args.blob_mb} --part-mb {args.part_mb} "
        f"--rss-mb {args.rss_mb}`. Both registries run in the same run, which one goes first "
        "alternating by round; MiB/s are medians over the rounds, ours/dist the ratio of the "
        "medians (what the target is checked on), per-round ratio the median of each round's "
        "ratio; spread is (max-min)/median; CPU is the server process's user+system time per "
        "100 MiB moved, which other load on the machine moves much less than wall time. Each "
        "timed operation starts after an untimed os.sync(): distribution fsyncs what it "
        "stores, within its time; ours does not, and its writeback is not charged to whatever "
        "runs next.",
        "",
        f"- docker push / pull: a {args.image_mb} MiB image of {args.layers} layers of random "
        "bytes; each round on a registry started on empty storage, so each layer is uploaded "
        "(checked: docker says \"Pushed\" for every layer) and, with every local copy removed, "
        "downloaded. MiB = the manifest's layer sizes; time = the docker command's wall time.",
        f"- upload monolithic: POST, then PUT ?digest= with the {args.blob_mb} MiB body; chunked: "
        f"PATCHes of {args.part_mb} MiB with Content-Range; streamed: one PATCH with chunked "
        "transfer encoding in 32 KiB chunks (docker's way); download: GET. http.client, one "
        "keep-alive connection.",
        "",
    ]
    lines = [HEADER] + [_cells(table, row) for row in table.rows]
    out += _markdown_rows(lines)
    if memory:
        out += ["", f"Peak memory (VmHWM) of each registry process, started afresh, after "
                f"{args.rss_mb} MiB pushed as one streamed PATCH and again as one monolithic PUT:",
                ""]
        out += _markdown_rows(_memory_lines(memory))
    return "\n".join(out) + "\n"


def _markdown_rows(lines: list[list[str]]) -> list[str]:
    rows = ["| " + " | ".join(lines[0]) + " |", "|" + "|".join("---" for _ in lines[0]) + "|"]
    return rows + ["| " + " | ".join(line) + " |" for line in lines[1:]]


def _aligned(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    return "\n".join([out[0], "  ".join("-" * w for w in widths)] + out[1:])


def _median(values: list[float], form: str = "{:.0f}") -> str:
    return form.format(statistics.median(values)) if values else "—"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def _range(values: list[float]) -> str:
    return f"{min(values):.0f}–{max(values):.0f}" if values else "—"


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return "—"
    return f"{(max(values) - min(values)) / statistics.median(values):.0%}"

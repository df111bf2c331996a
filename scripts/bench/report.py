"""Tables of the API benchmark's figures: medians over rounds, ratios ours/peer, the targets met,
as plain text for the terminal and as markdown for results/api.md."""

from __future__ import annotations

import datetime as dt
import os
import statistics
from dataclasses import dataclass

from api import CALLS, THREADS

# The targets: requests/s ratios to each peer, first ECS call, idle memory.
RATIO_TARGETS = {"ministack": 1.5, "moto": 5.0}
STARTUP_TARGET_S = 0.6
RSS_TARGET_MIB = 64


@dataclass
class Results:
    names: list[str]
    startups: dict  # server -> [Startup]
    samples: dict  # server -> call -> threads -> [Sample]
    args: object
    versions: dict

    def rps(self, name: str, call: str, threads: int) -> float | None:
        good = [s.requests_per_s for s in self._timed(name, call, threads)]
        return statistics.median(good) if good else None

    def latency_ms(self, name: str, call: str, threads: int, q: float) -> float | None:
        good = [s.percentile(q) * 1000 for s in self._timed(name, call, threads)]
        return statistics.median(good) if good else None

    def spread(self, name: str, call: str, threads: int) -> float | None:
        """(max - min) / median of requests/s over the rounds: how noisy the figure was."""
        good = [s.requests_per_s for s in self._timed(name, call, threads)]
        if len(good) < 2:
            return None
        return (max(good) - min(good)) / statistics.median(good)

    def error(self, name: str, call: str, threads: int) -> str | None:
        runs = self.samples.get(name, {}).get(call, {}).get(threads, [])
        failed = [s.error for s in runs if s.error]
        return failed[0] if failed and len(failed) == len(runs) else None

    def cpu_us(self, name: str, call: str, threads: int) -> float | None:
        good = [s.server_cpu_per_call * 1e6 for s in self._timed(name, call, threads)
                if s.server_cpu_per_call is not None]
        return statistics.median(good) if good else None

    def startup_s(self, name: str) -> float | None:
        good = [s.seconds for s in self.startups.get(name, []) if s.seconds is not None]
        return statistics.median(good) if good else None

    def startup_cpu_s(self, name: str) -> float | None:
        good = [s.cpu_seconds for s in self.startups.get(name, []) if s.cpu_seconds is not None]
        return statistics.median(good) if good else None

    def startup_range(self, name: str) -> tuple[float, float] | None:
        good = [s.seconds for s in self.startups.get(name, []) if s.seconds is not None]
        return (min(good), max(good)) if good else None

    def rss_mib(self, name: str) -> float | None:
        good = [s.rss_bytes for s in self.startups.get(name, []) if s.rss_bytes]
        return statistics.median(good) / 2**20 if good else None

    def _timed(self, name, call, threads):
        runs = self.samples.get(name, {}).get(call, {}).get(threads, [])
        return [s for s in runs if not s.error and s.latencies]


def _num(value: float | None, fmt: str = ",.0f") -> str:
    return "—" if value is None else format(value, fmt)


def _ratio(ours: float | None, peer: float | None) -> str:
    return "—" if not ours or not peer else f"{ours / peer:.2f}x"


def _others(results: Results) -> list[str]:
    """Who ours is compared with: the peers, and the floor (what the client alone reaches)."""
    return [name for name in results.names if name != "ours"] if "ours" in results.names else []


def throughput_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    names, others = results.names, _others(results)
    header = ["call", "threads"] + [f"{n} req/s" for n in names] + [f"ours/{o}" for o in others]
    rows = []
    for call in CALLS:
        for threads in THREADS:
            row = [call, str(threads)]
            for name in names:
                err = results.error(name, call, threads)
                row.append(f"error: {err}" if err else _num(results.rps(name, call, threads)))
            mine = results.rps("ours", call, threads)
            row += [_ratio(mine, results.rps(o, call, threads)) for o in others]
            rows.append(row)
    return header, rows


def latency_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    names = results.names
    header = ["call", "threads"] + [f"{n} p50/p99 ms" for n in names]
    header += [f"{n} CPU µs/call" for n in names]
    rows = []
    for call in CALLS:
        for threads in THREADS:
            row = [call, str(threads)]
            for name in names:
                p50 = results.latency_ms(name, call, threads, 0.50)
                p99 = results.latency_ms(name, call, threads, 0.99)
                row.append("—" if p50 is None else f"{p50:.2f} / {p99:.2f}")
            row += [_num(results.cpu_us(name, call, threads)) for name in names]
            rows.append(row)
    return header, rows


def startup_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    names, others = results.names, _others(results)
    header = [""] + list(names) + [f"ours/{o}" for o in others]
    first = ["first ECS call (s)"] + [_num(results.startup_s(n), ".3f") for n in names]
    first += [_ratio(results.startup_s("ours"), results.startup_s(o)) for o in others]
    cpu = ["CPU time until then (s)"] + [_num(results.startup_cpu_s(n), ".3f") for n in names]
    cpu += [_ratio(results.startup_cpu_s("ours"), results.startup_cpu_s(o)) for o in others]
    rss = ["idle RSS (MiB)"] + [_num(results.rss_mib(n), ".1f") for n in names]
    rss += [_ratio(results.rss_mib("ours"), results.rss_mib(o)) for o in others]
    return header, [first, cpu, rss]


def target_lines(results: Results) -> list[str]:
    if "ours" not in results.names:
        return []
    lines = []
    for peer, wanted in RATIO_TARGETS.items():
        if peer not in results.names or not results.samples:
            continue
        short = []
        for call in CALLS:
            for threads in THREADS:
                mine, theirs = results.rps("ours", call, threads), results.rps(peer, call, threads)
                if mine and theirs and mine / theirs < wanted:
                    short.append(f"{call} x{threads} ({mine / theirs:.2f}x)")
        verdict = "met" if not short else "NOT met: " + ", ".join(short)
        lines.append(f"requests/s >= {wanted}x {peer} on each call: {verdict}")
    startup, rss = results.startup_s("ours"), results.rss_mib("ours")
    if startup is not None:
        ok = "met" if startup <= STARTUP_TARGET_S else "NOT met"
        lines.append(f"first ECS call within {STARTUP_TARGET_S} s: {ok} ({startup:.3f} s)")
    if rss is not None:
        ok = "met" if rss <= RSS_TARGET_MIB else "NOT met"
        lines.append(f"idle RSS at most {RSS_TARGET_MIB} MiB: {ok} ({rss:.1f} MiB)")
    return lines


def noise_line(results: Results) -> str:
    spreads = sorted(
        s for n in results.names for c in CALLS for t in THREADS
        if (s := results.spread(n, c, t)) is not None
    )
    if not spreads:
        return "noise: one round only"
    ranges = ", ".join(
        f"{n} {lo:.3f}–{hi:.3f} s"
        for n in results.names if (r := results.startup_range(n)) for lo, hi in [r]
    )
    return (
        f"noise: requests/s varied between rounds by a median of {statistics.median(spreads):.0%} "
        f"and at most {spreads[-1]:.0%} ((max-min)/median); start-up ranges: {ranges}"
    )


def _text(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def text_table(results: Results) -> str:
    parts = []
    if results.samples:
        parts = [_text(*throughput_rows(results)), "", _text(*latency_rows(results)), ""]
    parts += [_text(*startup_rows(results)), ""]
    return "\n".join(parts + target_lines(results) + [noise_line(results)])


def markdown(results: Results) -> str:
    args, v = results.args, results.versions
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    peers = ", ".join(f"{k} {v[k]}" for k in ("moto", "ministack") if k in v)
    setup = (
        f"{when}; ours at commit {v.get('ours', '?')} (cheroot {v.get('cheroot', '?')}, Flask "
        f"{v.get('flask', '?')}); {peers}; client boto3 {v.get('boto3', '?')} on Python "
        f"{v.get('python', '?')}; {os.cpu_count()} CPUs shared with other work (load average "
        f"{v.get('load', '?')} at the start). {args.rounds} rounds of {args.duration:g} s per call "
        f"and thread count (medians shown), {args.startups} fresh starts per server."
    )
    out = [
        "# API benchmark: ours vs moto_server vs MiniStack",
        "",
        "Written by `python scripts/bench/api.py`; scripts/bench/README.md explains the method.",
        "",
        setup,
        "",
    ]
    if results.samples:
        out += ["## Requests per second", "", _markdown(*throughput_rows(results)), ""]
        out += ["## Latency, and the server's CPU time per call", "",
                _markdown(*latency_rows(results)), ""]
    out += ["## Start-up and memory", "", _markdown(*startup_rows(results)), ""]
    out += ["## Targets", "", *[f"- {line}" for line in target_lines(results)], ""]
    out += [noise_line(results), ""]
    return "\n".join(out)

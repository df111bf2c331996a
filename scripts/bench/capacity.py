"""API capacity with wrk: ours against moto_server and MiniStack at 1, 8 and 32 connections.

    python scripts/bench/capacity.py [--rounds 3] [--duration 3] [--servers ours,ministack,moto]

wrk (Debian's `wrk`, a C load generator: apt-get install -y wrk) sends DescribeClusters as an
AWS JSON 1.1 call (X-Amz-Target, Content-Type and a SigV4-shaped Authorization header set by a
Lua script; the servers read the region from it and check no signature) over keep-alive
connections, on 2 threads. Unlike boto3, which costs its client about 1 ms of CPU per call, wrk
leaves the machine's CPU to the server, so this is the server's capacity. The three servers run
side by side; each round measures every server at every connection count, the order of servers
rotating; medians of requests/s, of the server's CPU time per request (user and system, from
/proc: what the load hardly moves), of its threads' voluntary context switches per request (a
thread that blocks: waiting for the GIL, a lock, a socket; /proc too; these the load does move:
on a loaded machine the client often runs on the server's core and its next request is there
before the server waits for it, scripts/bench/README.md) and the non-2xx count are shown. Writes results/capacity.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402

CONNECTIONS = (1, 8, 32)
LUA = """
wrk.method = "POST"
wrk.body = '{"clusters":["bench"]}'
wrk.headers["Content-Type"] = "application/x-amz-json-1.1"
wrk.headers["X-Amz-Target"] = "AmazonEC2ContainerServiceV20141113.DescribeClusters"
wrk.headers["X-Amz-Date"] = "20260101T000000Z"
wrk.headers["Authorization"] = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=0000"
"""


def wrk(url: str, connections: int, duration: float, script: str) -> tuple[float, int, int]:
    """(requests/s, non-2xx responses, requests) of one wrk run."""
    out = subprocess.run(
        ["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
         "-s", script, url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))
    return rate, int(bad.group(1)) if bad else 0, done


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    versions = servers.versions()
    logs = servers.log_dir()
    script = Path(tempfile.mkdtemp()) / "describe_clusters.lua"
    script.write_text(LUA)
    rates = {n: {c: [] for c in CONNECTIONS} for n in names}
    cpu = {n: {c: [] for c in CONNECTIONS} for n in names}  # server CPU µs per request
    switches = {n: {c: [] for c in CONNECTIONS} for n in names}  # voluntary, per request
    bad = {n: 0 for n in names}
    loads = []
    running = {n: servers.Server(servers.SPECS[n], logs) for n in names}
    try:
        for server in running.values():
            server.start()
        for name, server in running.items():
            if not api.wait_until_up(server):
                raise SystemExit(f"{name} did not start")
            api.ecs_client(server.endpoint).create_cluster(clusterName="bench")
            wrk(server.endpoint + "/", 1, 1, str(script))  # warm-up
        for index in range(args.rounds):
            order = names[index % len(names):] + names[: index % len(names)]
            for connections in CONNECTIONS:
                for name in order:
                    before = running[name].cpu_seconds()
                    switched = running[name].context_switches()
                    rate, errors, done = wrk(running[name].endpoint + "/", connections,
                                             args.duration, str(script))
                    used = running[name].cpu_seconds() - before
                    switched = running[name].context_switches() - switched
                    rates[name][connections].append(rate)
                    cpu[name][connections].append(used / max(done, 1) * 1e6)
                    switches[name][connections].append(switched / max(done, 1))
                    bad[name] += errors
                    print(f"bench: round {index + 1} {name} x{connections}: {rate:,.0f} req/s"
                          f" ({errors} non-2xx)", file=sys.stderr)
            loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    finally:
        for server in running.values():
            server.stop()
    text = _markdown(names, rates, cpu, switches, bad, args, versions, loads)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0


def _markdown(names, rates, cpu, switches, bad, args, versions, loads) -> str:
    median = {n: {c: statistics.median(rates[n][c]) for c in CONNECTIONS} for n in names}
    cpu_median = {n: {c: statistics.median(cpu[n][c]) for c in CONNECTIONS} for n in names}
    lines = [
        "# API capacity with wrk: DescribeClusters",
        "",
        f"`python scripts/bench/capacity.py --rounds {args.rounds} --duration {args.duration:g}` "
        f"at commit {versions.get('ours')}; moto {versions.get('moto')}, ministack "
        f"{versions.get('ministack')}; {os.cpu_count()} CPUs shared with other engineers' test "
        f"runs (load average {versions.get('load')} at the start; after each round: "
        f"{'; '.join(loads)}). wrk on 2 threads (1 for one connection), keep-alive; medians of "
        f"{args.rounds} rounds, servers rotating within each connection count.",
        "",
        "| requests/s | " + " | ".join(f"{c} conn." for c in CONNECTIONS) + " | non-2xx |",
        "|---|" + "---|" * (len(CONNECTIONS) + 1),
    ]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{median[n][c]:,.0f}" for c in CONNECTIONS)
                     + f" | {bad[n]} |")
    lines += ["", "| server CPU µs per request | " + " | ".join(f"{c} conn." for c in CONNECTIONS)
              + " |", "|---|" + "---|" * len(CONNECTIONS)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{cpu_median[n][c]:,.0f}" for c in CONNECTIONS)
                     + " |")
    lines += ["", "| voluntary context switches per request | "
              + " | ".join(f"{c} conn." for c in CONNECTIONS) + " |",
              "|---|" + "---|" * len(CONNECTIONS)]
    for n in names:
        lines.append(f"| {n} | " + " | ".join(f"{statistics.median(switches[n][c]):.2f}"
                                              for c in CONNECTIONS) + " |")
    lines += ["", "Ratios and targets (issue 13, at 8 connections):", ""]
    ours = median.get("ours")
    if ours:
        for peer, target in (("ministack", 4), ("moto", 12)):
            if peer in median:
                ratio = ours[8] / median[peer][8]
                lines.append(f"- ours/{peer} at 8 connections: {ratio:.1f}x (target {target}x: "
                             f"{'met' if ratio >= target else 'NOT met'})")
        for c in (8, 32):
            lines.append(f"- ours at {c} connections / at 1: {ours[c] / ours[1]:.2f} "
                         f"(target at least 1.0: {'met' if ours[c] >= ours[1] else 'NOT met'})")
    base = median.get("base")
    if ours and base:
        lines += ["", "Before and after in this run (`base`: the emulator at ECS_BENCH_BASE, "
                  "scripts/bench/servers.py):", ""]
        for c in CONNECTIONS:
            lines.append(f"- {c} connection(s): ours/base {ours[c] / base[c]:.2f}x requests/s, "
                         f"CPU per request {cpu_median['ours'][c]:,.0f} against "
                         f"{cpu_median['base'][c]:,.0f} µs; base at {c} / at 1: "
                         f"{base[c] / base[1]:.2f}")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="ours,ministack,moto", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    parser.add_argument(
        "--output", default=str(Path(__file__).resolve().parent / "results" / "capacity.md"),
        help="markdown file to write ('' to skip)")
    return parser


if __name__ == "__main__":
    if not servers.running_in_peer_venv():
        python = str(servers.ensure_peer_venv())
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit(main())

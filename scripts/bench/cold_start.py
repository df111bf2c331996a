"""Cold start: ours against MiniStack and moto_server, side by side, starts alternating.

    python scripts/bench/cold_start.py [--starts 7] [--servers ours,ministack,moto]

Each start is a fresh process (`ecs-emulator --port P` for ours, its bytecode compiled first as
an installed package's is: servers.compile_ours); the figure is the seconds from
starting it to the first successful ECS call (ListClusters from a boto3 client warmed up before,
polling the port with a bare connect every 5 ms), with the server's CPU time until then (which
hardly depends on the load) and its idle RSS one second later (api.py's measure_startup). The
servers take turns, the order rotating each round, and the load average is written beside every
start. Writes scripts/bench/results/cold_start.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api  # noqa: E402  (siblings, found through the path set above)
import servers  # noqa: E402

STARTUP_TARGET_S = 0.4  # issue 13: first ECS call at most 0.4 s after the process starts
MINISTACK_RATIO_TARGET = 0.5
RSS_TARGET_MIB = 50

OURS = servers.ServerSpec(
    "ours", lambda port: [str(servers.OUR_PYTHON.with_name("ecs-emulator")), "--port", str(port)],
    lambda port: {},
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    specs = {**servers.SPECS, "ours": OURS}
    versions = servers.versions()
    logs = servers.log_dir()
    servers.compile_ours()
    starts: dict[str, list] = {name: [] for name in names}
    loads: list[str] = []
    for index in range(args.starts):
        order = names[index % len(names):] + names[: index % len(names)]
        for name in order:
            load = os.getloadavg()[0]
            result = api.measure_startup(specs[name], logs)
            starts[name].append((result, load))
            shown = f"{result.seconds:.3f}s" if result.seconds is not None else result.error
            print(f"bench: start {index + 1}/{args.starts} {name}: {shown} (load {load:.1f})",
                  file=sys.stderr)
        loads.append(" ".join(f"{x:.1f}" for x in os.getloadavg()))
    text = _markdown(names, starts, args, versions, loads)
    print(text)
    if args.output:
        Path(args.output).write_text(text)
        print(f"bench: wrote {args.output}", file=sys.stderr)
    return 0


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _markdown(names, starts, args, versions, loads) -> str:
    first = {n: _median(r.seconds for r, _ in starts[n]) for n in names}
    cpu = {n: _median(r.cpu_seconds for r, _ in starts[n]) for n in names}
    rss = {n: _median(r.rss_bytes / 2**20 if r.rss_bytes else None for r, _ in starts[n])
           for n in names}

    def cell(value, fmt):
        return "-" if value is None else format(value, fmt)

    lines = [
        "# Cold start: ours against MiniStack and moto_server",
        "",
        f"`python scripts/bench/cold_start.py --starts {args.starts}` at commit "
        f"{versions.get('ours')}; moto {versions.get('moto')}, ministack "
        f"{versions.get('ministack')}, Python {versions.get('python')}; {os.cpu_count()} CPUs "
        f"shared with other engineers' test runs (load average {versions.get('load')} at the "
        f"start; after each round: {'; '.join(loads)}). {args.starts} fresh starts per server, "
        "one process at a time, servers alternating (order rotating each round); medians.",
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
        "| first ECS call after process start (s) | "
        + " | ".join(cell(first[n], ".3f") for n in names) + " |",
        "| server CPU until then (s) | " + " | ".join(cell(cpu[n], ".3f") for n in names) + " |",
        "| idle RSS 1 s later (MiB) | " + " | ".join(cell(rss[n], ".1f") for n in names) + " |",
        "",
        "Every start, in the order taken (seconds, load average at that moment):",
        "",
    ]
    for n in names:
        shown = ", ".join(
            (f"{r.seconds:.3f}" if r.seconds is not None else str(r.error)) + f" ({load:.1f})"
            for r, load in starts[n])
        lines.append(f"- {n}: {shown}")
    lines += ["", "Targets (issue 13):", ""]
    ours = first.get("ours")
    if ours is not None:
        lines.append(f"- first ECS call within {STARTUP_TARGET_S} s: "
                     f"{'met' if ours <= STARTUP_TARGET_S else 'NOT met'} ({ours:.3f} s)")
        if first.get("ministack"):
            ratio = ours / first["ministack"]
            lines.append(f"- at most {MINISTACK_RATIO_TARGET}x MiniStack's: "
                         f"{'met' if ratio <= MINISTACK_RATIO_TARGET else 'NOT met'} ({ratio:.2f}x)")
    if first.get("base") and ours is not None:
        lines.append(f"- before and after in this run: ours {ours:.3f} s against base "
                     f"{first['base']:.3f} s (ECS_BENCH_BASE, scripts/bench/servers.py); server "
                     f"CPU {cpu['ours']:.3f} against {cpu['base']:.3f} s; base/MiniStack "
                     + (f"{first['base'] / first['ministack']:.2f}x" if first.get("ministack")
                        else "-"))
    if rss.get("ours") is not None:
        lines.append(f"- idle RSS at most {RSS_TARGET_MIB} MiB: "
                     f"{'met' if rss['ours'] <= RSS_TARGET_MIB else 'NOT met'} "
                     f"({rss['ours']:.1f} MiB)")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="ours,ministack,moto", help="comma-separated")
    parser.add_argument("--starts", type=int, default=7, help="fresh processes per server")
    parser.add_argument(
        "--output", default=str(Path(__file__).resolve().parent / "results" / "cold_start.md"),
        help="markdown file to write ('' to skip)")
    return parser


if __name__ == "__main__":
    if not servers.running_in_peer_venv():
        python = str(servers.ensure_peer_venv())
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit(main())

"""API benchmark: our emulator against moto_server and MiniStack, with boto3 as the client.

    python scripts/bench/api.py [--rounds 3] [--duration 2] [--startups 5] [--servers ours,moto]

The floor (floor_server.py) runs beside the three servers: what the boto3 client alone reaches.

Measures, for each server:
- requests/s and p50/p99 latency of DescribeClusters, RegisterTaskDefinition,
  DescribeTaskDefinition and ListTaskDefinitions at 1 and 4 client threads (one boto3 client,
  hence one keep-alive connection, per thread), for --duration seconds each, in --rounds rounds;
- start-up: seconds from process start to the first successful ECS call (ListClusters), and
  the server's CPU time until then, over --startups fresh processes, one at a time;
- idle RSS of the process tree a second after that first call.

Prints a table with ratios ours/peer and writes it as markdown to scripts/bench/results/api.md.
A call a server answers with an error is reported as such, not timed. See README.md here.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402  (a sibling module, found through the path set above)

CLUSTER = "bench"
FAMILY = "bench-web"  # read by Describe/ListTaskDefinitions; 3 revisions
REGISTER_FAMILY = "bench-reg"  # written by RegisterTaskDefinition: not under FAMILY's prefix
CONTAINERS = [{"name": "app", "image": "busybox:latest", "memory": 128, "essential": True}]

# In the order measured: RegisterTaskDefinition last, so that what it adds is measured after.
WORKLOADS = {
    "DescribeClusters": lambda ecs: ecs.describe_clusters(clusters=[CLUSTER]),
    "DescribeTaskDefinition": lambda ecs: ecs.describe_task_definition(taskDefinition=FAMILY),
    "ListTaskDefinitions": lambda ecs: ecs.list_task_definitions(familyPrefix=FAMILY),
    "RegisterTaskDefinition": lambda ecs: ecs.register_task_definition(
        family=REGISTER_FAMILY, containerDefinitions=CONTAINERS
    ),
}
CALLS = ("DescribeClusters", "RegisterTaskDefinition", "DescribeTaskDefinition", "ListTaskDefinitions")
THREADS = (1, 4)


@dataclass
class Sample:
    """One timed run of one call at one thread count on one server."""

    requests_per_s: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    server_cpu_per_call: float | None = None  # seconds of the server's CPU per answered call
    error: str | None = None  # set when the call did not answer at all: not timed

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Startup:
    seconds: float | None
    rss_bytes: int | None
    error: str | None = None
    cpu_seconds: float | None = None  # the server's CPU time until it answered: load-proof


def ecs_client(endpoint: str, **config):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "ecs",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"total_max_attempts": 1}, **config),
    )


def error_name(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or type(exc).__name__
    return type(exc).__name__


# -- start-up and memory ------------------------------------------------------------------------


def measure_startup(spec: servers.ServerSpec, logs: Path, timeout: float = 30.0) -> Startup:
    server = servers.Server(spec, logs)
    client = ecs_client(server.endpoint, connect_timeout=1, read_timeout=10)
    try:  # warm botocore's lazy loading against the closed port, so start-up does not pay it
        client.list_clusters()
    except Exception:
        pass
    server.start()
    try:
        while time.perf_counter() - server.started_at < timeout:
            try:
                # A refused connect costs next to nothing; a failed boto3 call costs a
                # millisecond of CPU, which the server starting beside it would pay for.
                if not _port_open(server.port):
                    raise ConnectionRefusedError
                client.list_clusters()
                seconds = time.perf_counter() - server.started_at
                cpu = server.cpu_seconds()
                break
            except Exception:
                if not server.alive():
                    return Startup(None, None, f"exited: {server.log_tail(3)}")
                time.sleep(0.005)
        else:
            return Startup(None, None, f"no ECS answer within {timeout:.0f}s")
        time.sleep(1.0)
        return Startup(seconds, server.rss_bytes(), cpu_seconds=cpu)
    finally:
        server.stop()


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- throughput and latency ---------------------------------------------------------------------


def prepare(endpoint: str) -> dict[str, str]:
    """Create what the calls read; return the calls that cannot be measured, with their error."""
    ecs = ecs_client(endpoint)
    broken = {}
    for name, step in (
        ("DescribeClusters", lambda: ecs.create_cluster(clusterName=CLUSTER)),
        ("RegisterTaskDefinition", lambda: [
            ecs.register_task_definition(family=FAMILY, containerDefinitions=CONTAINERS)
            for _ in range(3)
        ]),
    ):
        try:
            step()
        except Exception as exc:
            broken[name] = error_name(exc)
    for name, call in WORKLOADS.items():
        try:
            call(ecs)
        except Exception as exc:
            broken.setdefault(name, error_name(exc))
    return broken


def measure(server: servers.Server, call, threads: int, duration: float) -> Sample:
    clients = [ecs_client(server.endpoint) for _ in range(threads)]
    for client in clients:  # open the keep-alive connection and warm botocore's caches
        for _ in range(3):
            try:
                call(client)
            except Exception as exc:
                return Sample(error=error_name(exc))
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    latencies: list[list[float]] = [[] for _ in clients]
    errors = [0] * threads

    def worker(index: int) -> None:
        client, mine, clock = clients[index], latencies[index], time.perf_counter
        start.wait()
        while not stop.is_set():
            began = clock()
            try:
                call(client)
            except Exception:
                errors[index] += 1
                continue
            mine.append(clock() - began)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    cpu_before = server.cpu_seconds()
    start.wait()
    began = time.perf_counter()
    time.sleep(duration)
    stop.set()
    for thread in workers:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu = server.cpu_seconds() - cpu_before
    merged = [latency for mine in latencies for latency in mine]
    per_call = cpu / len(merged) if merged else None
    return Sample(len(merged) / elapsed, merged, sum(errors), per_call)


def run_rounds(names: list[str], rounds: int, duration: float, logs: Path, progress) -> dict:
    """samples[server][call][threads] -> one Sample per round.

    Each round starts every server afresh, side by side, so that one round's registrations do
    not slow the next round's listing (some servers scan every revision they hold).
    """
    samples: dict = {name: {call: {n: [] for n in THREADS} for call in CALLS} for name in names}
    for round_index in range(rounds):
        # rotate the order, so a neighbour's noise does not always fall on the same server
        order = names[round_index % len(names):] + names[: round_index % len(names)]
        running = {name: servers.Server(servers.SPECS[name], logs) for name in order}
        try:
            for server in running.values():
                server.start()
            for name, server in running.items():
                up = wait_until_up(server)
                broken = prepare(server.endpoint) if up else dict.fromkeys(CALLS, "did not start")
                for call in WORKLOADS:
                    for threads in THREADS:
                        if call in broken:
                            sample = Sample(error=broken[call])
                        else:
                            sample = measure(server, WORKLOADS[call], threads, duration)
                        samples[name][call][threads].append(sample)
                        progress(round_index, name, call, threads, sample)
        finally:
            for server in running.values():
                server.stop()
    return samples


def wait_until_up(server: servers.Server, timeout: float = 60.0) -> bool:
    client = ecs_client(server.endpoint, connect_timeout=1, read_timeout=10)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.alive():
        try:
            client.list_clusters()
            return True
        except Exception:
            time.sleep(0.05)
    print(f"bench: {server.spec.name} did not answer:\n{server.log_tail()}", file=sys.stderr)
    return False


# -- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    names = [name.strip() for name in args.servers.split(",") if name.strip()]
    unknown = set(names) - set(servers.SPECS)
    if unknown:
        raise SystemExit(f"unknown servers: {', '.join(sorted(unknown))}")
    import report

    versions = servers.versions()  # before the runs: the commit and the load they started at
    logs = servers.log_dir()
    servers.compile_ours()  # start-ups as an installed package makes them (servers.py)
    print(f"bench: server logs in {logs}", file=sys.stderr)
    startups = {name: [] for name in names}
    for attempt in range(args.startups):
        for name in names:
            result = measure_startup(servers.SPECS[name], logs)
            startups[name].append(result)
            shown = f"{result.seconds:.3f}s" if result.seconds is not None else result.error
            print(f"bench: start-up {attempt + 1}/{args.startups} {name}: {shown}", file=sys.stderr)

    def progress(round_index, name, call, threads, sample):
        shown = sample.error or f"{sample.requests_per_s:,.0f} req/s"
        print(f"bench: round {round_index + 1}/{args.rounds} {name} {call} x{threads}: {shown}",
              file=sys.stderr)

    samples = run_rounds(names, args.rounds, args.duration, logs, progress) if args.rounds else {}
    results = report.Results(names, startups, samples, args, versions)
    print(report.text_table(results))
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.markdown(results))
        print(f"bench: wrote {out}", file=sys.stderr)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--servers", default="ours,moto,ministack,floor", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="throughput rounds (median kept)")
    parser.add_argument("--duration", type=float, default=2.0, help="seconds per call and threads")
    parser.add_argument("--startups", type=int, default=5, help="fresh processes per server")
    parser.add_argument(
        "--output", default=str(Path(__file__).resolve().parent / "results" / "api.md"),
        help="markdown file to write ('' to skip)",
    )
    return parser


if __name__ == "__main__":
    if not servers.running_in_peer_venv():
        python = str(servers.ensure_peer_venv())
        os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])
    sys.exit(main())

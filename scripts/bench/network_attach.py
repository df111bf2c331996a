"""What Docker's create+start of one container costs on each kind of network: the measurement
behind where bridge tasks attach (README, Networking; results/network_attach.md).

    .venv/bin/python scripts/bench/network_attach.py [--rounds 3] [--burst 20] [--single 5]

Variants, alternating within each round, the same busybox command and 64 MiB limit as tasks.py's
raw peer: Docker's default bridge; a user-defined bridge (ours); the same made `--internal`; one
with masquerade and inter-container traffic off; `none`; and joining a pause container's namespace
already on a user-defined bridge (what a spare sandbox gives). For each: `--burst` containers
created and started at once from as many threads (wall time until the last start returned), and
dockerd's and containerd's CPU per container in that burst (with their reaped children: the
load-proof figure), and `--single` one at a time (median create+start); `default/4` and `user/4`: the burst from 4
threads, as the emulator's bound on Docker calls in flight (ECS_EMULATOR_DOCKER_CONCURRENCY). Everything is labelled and removed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from docker_peer import COMMAND, IMAGE, LABEL, MEMORY_MIB, client  # noqa: E402

PAUSE = "ecs-emulator-test/busybox:latest"


def daemon_cpu() -> float:
    """CPU seconds of dockerd and containerd with their reaped children (the reexecs dockerd runs
    to set a namespace up are its children): the load-proof part of Docker's work."""
    total = 0
    for name in ("dockerd", "containerd"):
        for pid in os.popen(f"pgrep -x {name}").read().split():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--single", type=int, default=5)
    parser.add_argument("--only", default="", help="comma-separated variants, e.g. default,user,user/4")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `timeout` too removes what was made
    api = client()
    run = uuid.uuid4().hex[:8]
    labels = {LABEL: run}
    nets = {
        "user": api.create_network(f"bench-attach-{run}-user", driver="bridge", labels=labels)["Id"],
        "internal": api.create_network(f"bench-attach-{run}-int", driver="bridge", internal=True,
                                       labels=labels)["Id"],
        "quiet": api.create_network(f"bench-attach-{run}-quiet", driver="bridge", labels=labels,
                                    options={"com.docker.network.bridge.enable_ip_masquerade": "false",
                                             "com.docker.network.bridge.enable_icc": "false"})["Id"],
    }
    made: list[str] = []
    count = itertools.count(1)  # next() is atomic under the GIL: names never collide

    def create_start(mode: str) -> str:
        cid = api.create_container(IMAGE, command=COMMAND, name=f"bench-attach-{run}-{next(count)}",
                                   labels=labels, host_config=api.create_host_config(
                                       network_mode=mode, mem_limit=f"{MEMORY_MIB}m"))["Id"]
        made.append(cid)
        api.start(cid)
        return cid

    def pauses(n: int) -> list[str]:  # made ahead, untimed: what spares would be
        with ThreadPoolExecutor(n) as pool:
            return list(pool.map(lambda _: create_start(nets["user"]), range(n)))

    def modes(variant: str, n: int) -> list[str]:
        if variant == "join":
            return [f"container:{p}" for p in pauses(n)]
        return [{"default": "bridge", "none": "none"}.get(variant) or nets[variant]] * n

    def clean() -> None:
        # One at a time: dockerd 20.10 may miscount a network's endpoints under many parallel
        # removals and then refuse to remove it until it restarts (moby/moby#42119).
        for container in made:
            api.remove_container(container, force=True)
        made.clear()

    variants = ["default", "user", "internal", "quiet", "none", "join", "default/4", "user/4"]
    variants = [v for v in variants if v in args.only.split(",")] if args.only else variants
    burst: dict[str, list[float]] = {v: [] for v in variants}
    cpu: dict[str, list[float]] = {v: [] for v in variants}
    single: dict[str, list[float]] = {v: [] for v in variants}
    loads = [os.getloadavg()[0]]
    try:
        for _ in range(args.rounds):
            for variant in variants:
                base, _, bound = variant.partition("/")
                todo = modes(base, args.burst)
                start, cpu0 = time.perf_counter(), daemon_cpu()
                with ThreadPoolExecutor(int(bound or args.burst)) as pool:
                    list(pool.map(create_start, todo))
                burst[variant].append(time.perf_counter() - start)
                cpu[variant].append((daemon_cpu() - cpu0) / args.burst)
                clean()
                for mode in modes(base, args.single) if not bound else []:
                    start = time.perf_counter()
                    create_start(mode)
                    single[variant].append(time.perf_counter() - start)
                clean()
            loads.append(os.getloadavg()[0])
    finally:
        clean()
        for net in nets.values():
            try:
                api.remove_network(net)
            except Exception as error:  # a stale endpoint count (moby#42119): said, not hidden
                print(f"could not remove network {net[:12]}: {error}", file=sys.stderr)
    print(f"docker {api.version()['Version']}, load average {min(loads):.1f}-{max(loads):.1f}, "
          f"{args.rounds} rounds")
    print(f"| network | {args.burst} at once (median s) | vs the first | Docker daemons' CPU a "
          f"container (ms) | one (median ms) | vs the first |")
    print("|---|---|---|---|---|---|")
    b0 = statistics.median(burst[variants[0]])
    s0 = statistics.median(single[variants[0]]) if single[variants[0]] else 1.0
    for variant in variants:
        b = statistics.median(burst[variant])
        one = (f"{statistics.median(single[variant]) * 1000:.0f} | "
               f"{statistics.median(single[variant]) / s0:.2f}x") if single[variant] else "| "
        c = statistics.median(cpu[variant]) * 1000
        print(f"| {variant} | {b:.2f} | {b / b0:.2f}x | {c:.0f} | {one} |")


if __name__ == "__main__":
    main()

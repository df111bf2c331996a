"""What telling a caller costs (access/callers.py's identify, asked once per request that comes
from a container) with 50 live tasks in the state: a task on the emulator's network, and on
Docker's default bridge a task and a stranger (a container not ours), the asked task last in
the walk. No Docker: the network is a stand-in whose view stays fresh, so no read is timed.

    .venv/bin/python scripts/bench/identify.py [--calls 20000] [--rounds 3]
        [--sides <checkout>,<checkout>]

Each side is a checkout (its `emulator` and `tests` packages) run in a process of its own; the
sides alternate, round after round, for the machine is shared. Per call: the median of five
timeit repeats, wall and CPU (process time), in microseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

# the tests' stand-ins, after PYTHONPATH (which names the side's checkout)
sys.path.append(str(Path(__file__).resolve().parents[2]))

TASKS = 50
STRANGER = "172.17.1.250"


def _task(n: int, mode: str, **fields):
    from emulator.runtime.status import ContainerStatus, TaskStatus
    from tests.test_access_units import ACCOUNT

    task_id = f"{n:032x}"
    containers = [SimpleNamespace(runtime_id=f"c-{n}-{i}", known=ContainerStatus.RUNNING,
                                  started=True) for i in range(2)]
    return SimpleNamespace(arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/{task_id}", id=task_id,
                           engine=None, known=TaskStatus.RUNNING, network_mode=mode,
                           containers=containers, **fields)


def _ip(prefix: str, n: int) -> str:
    return f"{prefix}.{n // 200}.{n % 200 + 2}"


def _callers(shared: bool):
    """Callers over 50 tasks (awsvpc ones with a sandbox, every fifth a bridge task) and the
    network view that has each of them at its address, plus one container not ours."""
    from emulator.access.callers import Callers
    from emulator.runtime.base import NetworkMembers
    from tests.test_access_units import _State

    prefix, subnet = ("172.17", "172.17.0.0/16") if shared else ("172.30", "172.30.0.0/16")
    tasks, addresses = [], {STRANGER: "users"}
    for n in range(TASKS):
        address = _ip(prefix, n)
        if n % 5 == 4:
            task = _task(n, "bridge", private_ip=None, sandbox_id=None)
            addresses[address] = task.containers[0].runtime_id
        else:
            task = _task(n, "awsvpc", private_ip=address, sandbox_id=f"pause-{n}")
            addresses[address] = task.sandbox_id
        tasks.append(task)
    view = NetworkMembers(subnets=(subnet,), addresses=addresses, shared=shared)
    runtime = SimpleNamespace(ensure_network=lambda: ("net", "127.0.0.1"),
                              network_members=lambda: view)
    return Callers(_State(*tasks), lambda: runtime), tasks


def _measure(calls: int) -> dict:
    """One side, in this process: µs per identify() (wall, CPU) for each kind of caller."""
    import timeit

    from emulator.access import callers as module

    network, network_tasks = _callers(shared=False)
    bridge, bridge_tasks = _callers(shared=True)
    last = TASKS - 2  # an awsvpc task, all but one walked before it
    cases = {
        "task, emulator network": (network, network_tasks[last].private_ip,
                                   network_tasks[last].id),
        "task, default bridge": (bridge, bridge_tasks[last].private_ip, bridge_tasks[last].id),
        "stranger, default bridge": (bridge, STRANGER, None),
    }
    for name, (callers, address, task_id) in cases.items():
        assert callers.identify(address).task_id == task_id, name  # and the view is read
    module.REFRESH_S = 1e9  # the view stays fresh: Docker's read is not what is timed
    found = {}
    for name, (callers, address, task_id) in cases.items():
        walls, cpus = [], []
        for _ in range(5):
            cpu = time.process_time()
            walls.append(timeit.timeit(lambda: callers.identify(address), number=calls))
            cpus.append(time.process_time() - cpu)
        found[name] = (sorted(walls)[2] / calls * 1e6, sorted(cpus)[2] / calls * 1e6)
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sides", default=str(Path(__file__).resolve().parents[2]),
                        help="checkouts to compare, comma-separated")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a side's process: its checkout is first on sys.path (PYTHONPATH)
        print(json.dumps(_measure(args.calls)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}, {TASKS} tasks, {args.calls} calls a repeat")
    for round_ in range(args.rounds):
        for side in args.sides.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--one", "--calls", str(args.calls)], check=True,
                capture_output=True, text=True, env={**os.environ, "PYTHONPATH": side}).stdout
            for name, (wall, cpu) in json.loads(out).items():
                print(f"round {round_ + 1}  {side}  {name:26} {wall:7.2f} us wall "
                      f"{cpu:7.2f} us CPU")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

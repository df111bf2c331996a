"""What a stranger's connection costs on Docker's default bridge (ECS_EMULATOR_TASK_NETWORK=
default-bridge) while a live task's namespace holder is missing from Docker's view (a container
that died unrecorded, or one waiting for its dependsOn): the access check (access/callers.py)
asked N times for an address of nobody's, wall and CPU per answer, and Docker reads.

    .venv/bin/python scripts/bench/stranger_reads.py [--knocks 300]

Real Docker (one inspect of the `bridge` network per read; nothing is created), the tasks a
stand-in. To run it on another checkout, put that checkout first: PYTHONPATH=<a checkout>
(alternate the two in one run: the machine is shared). Figures in the bench README.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace

# the tests' stand-ins, after PYTHONPATH (which may name another checkout)
sys.path.append(str(Path(__file__).resolve().parents[2]))

from emulator.access.callers import Callers  # noqa: E402
from emulator.runtime.docker_runtime import DockerRuntime  # noqa: E402
from emulator.runtime.status import ContainerStatus, TaskStatus  # noqa: E402
from tests.test_access_units import ACCOUNT, _State  # noqa: E402

STRANGER = "172.17.0.250"


def _runtime() -> DockerRuntime:
    try:
        from emulator.metadata.link_local import interface_with
        return DockerRuntime("strangerbench", task_network="default-bridge",
                             interface_with=interface_with)
    except (ImportError, TypeError):  # a checkout from before the bridge checks (is_local)
        from emulator.access.callers import is_local_address  # where it was then
        return DockerRuntime("strangerbench", task_network="default-bridge",
                             is_local=is_local_address)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--knocks", type=int, default=300)
    args = parser.parse_args()
    runtime = _runtime()
    if runtime.ensure_network()[0] != "bridge":
        sys.exit("this host's engine does not take the default bridge (the log says why)")
    reads = [0]
    members = runtime.network_members

    def counted():
        reads[0] += 1
        return members()
    runtime.network_members = counted
    gone = SimpleNamespace(runtime_id="gone-unrecorded", known=ContainerStatus.RUNNING,
                           started=True)
    task = SimpleNamespace(arn=f"arn:aws:ecs:us-east-1:{ACCOUNT}:task/c/{'a' * 32}",
                           id="a" * 32, engine=None, known=TaskStatus.RUNNING,
                           network_mode="bridge", private_ip=None, sandbox_id=None,
                           containers=[gone])
    callers = Callers(_State(task), lambda: runtime)
    callers.identify(STRANGER)  # the first look, as a first knock makes it
    reads[0] = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(args.knocks):
        assert callers.admits(STRANGER) is False
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{args.knocks} knocks: {wall / args.knocks * 1e6:.0f} us wall, "
          f"{cpu / args.knocks * 1e6:.0f} us CPU each, {reads[0]} Docker reads")
    runtime.close()


if __name__ == "__main__":
    main()

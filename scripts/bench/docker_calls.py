"""Docker calls per task: what our first burst asks of Docker, counted, against raw's two.

    [ECS_BENCH_BASE=/path/to/a/checkout] .venv/bin/python scripts/bench/docker_calls.py
        [--rounds 3] [--task-network default-bridge|emulator]

Ours runs with DOCKER_HOST on a counting proxy (a unix socket in front of the engine's) that
notes each request's method and path (ids folded to {id}); the bench drives the "first" row of
tasks.py: a reset (untimed, uncounted), RunTask count=10 twice of bridge tasks, DescribeTasks
every 20 ms until all RUNNING, then StopTask of each until all STOPPED and removed. It prints the
calls made until RUNNING and until removed, per task, and the CPU our server used per burst;
then, once all are RUNNING, its CPU per DescribeTasks of the 20 (STEADY_POLLS calls back to
back, uncounted): what each poll of a burst costs the server apart from the tasks' own work.
Raw Docker's floor is two calls a task (create, start) to RUNNING and one (remove) after.
Load does not move these counts much, which is why they are worth comparing on a busy machine.
With ECS_BENCH_BASE, the server of that checkout (servers.py's "base") is counted too, in turn.
"""

from __future__ import annotations

import collections
import os
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402
from ours_ecs import POLL_MANY_S, Ours, Polls  # noqa: E402

ENGINE = "/var/run/docker.sock"
STEADY_POLLS = 500  # DescribeTasks calls after each burst, for the server's CPU per poll
_ID = re.compile(r"/[0-9a-f]{64}(?=/|$)|/(ecs-[^/?]+)")


class CountingProxy:
    """Unix socket -> the engine's socket; counts request lines (keep-alive aware, bodies by
    Content-Length; a hijacked or streamed exchange is counted once, as it began)."""

    def __init__(self, path: str):
        self.path = path
        self.counts: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(128)
        threading.Thread(target=self._accept, daemon=True).start()

    def snapshot(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.counts)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(ENGINE)
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = client.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                length = next((int(line.split(":", 1)[1]) for line in lines[1:]
                               if line.lower().startswith("content-length:")), 0)
                while len(buffer) < length:
                    chunk = client.recv(65536)
                    if not chunk:
                        break
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                path = _ID.sub("/{id}", re.sub(r"^/v[0-9.]+", "", target.split("?")[0]))
                with self.lock:
                    self.counts[f"{method} {path}"] += 1
                upstream.sendall(head + b"\r\n\r\n" + body)
        except OSError:
            pass
        finally:
            _close(upstream)

    def close(self) -> None:
        self.listener.close()
        os.unlink(self.path)


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        _close(sink)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _removed(ours: Ours, arns: list[str], timeout: float = 60.0) -> None:
    """Until none of the burst's task containers is left (removal follows STOPPED)."""
    from docker_peer import client

    labels = [f"ecs-emulator.pid={ours.server.pid}", "ecs-emulator.container-name=main"]
    deadline = time.monotonic() + timeout
    while client().containers(all=True, filters={"label": labels}) and time.monotonic() < deadline:
        time.sleep(0.05)


def _show(title: str, counts: collections.Counter[str], tasks: int) -> None:
    print(f"{title}: {sum(counts.values())} calls, {sum(counts.values()) / tasks:.2f} a task")
    for call, number in counts.most_common():
        print(f"  {number:5d}  {call}")


class Side:
    """One server of ours with its own counting proxy and what was counted of it."""

    def __init__(self, name: str):
        self.name = name
        self.proxy = CountingProxy(os.path.join(tempfile.mkdtemp(prefix="docker-calls-"),
                                                "docker.sock"))
        os.environ["DOCKER_HOST"] = f"unix://{self.proxy.path}"  # the server's only: the
        self.ours = Ours(servers.log_dir(), name)  # bench's own client reads its environment
        del os.environ["DOCKER_HOST"]  # once, after it is put back
        self.ours.name = "ours"  # driven as ours (reset, spares), at whichever commit
        self.cpu: list[float] = []
        self.poll_cpu: list[float] = []  # server CPU seconds per DescribeTasks of the 20
        self.started: collections.Counter[str] = collections.Counter()
        self.stopped: collections.Counter[str] = collections.Counter()

    def burst(self, counted: bool) -> None:
        ours, proxy = self.ours, self.proxy
        ours.forget_bursts()
        time.sleep(0.5)  # the reset's own removals, out of the count
        before, began = proxy.snapshot(), ours.server_cpu_s()
        arns = ours_burst(ours, Polls(POLL_MANY_S))
        burst_cpu = ours.server_cpu_s() - began
        running = proxy.snapshot()
        poll_cpu = self.steady_polls(arns)
        ours.stop_tasks(arns)
        ours.wait_status(arns, "STOPPED")
        _removed(ours, arns)
        if counted:
            self.cpu.append(burst_cpu)
            self.poll_cpu.append(poll_cpu)
            self.started += running - before
            self.stopped += proxy.snapshot() - running

    def steady_polls(self, arns: list[str]) -> float:
        """Our server's CPU per DescribeTasks of the burst's 20 tasks, all RUNNING (STEADY_POLLS
        back to back on the poller's keep-alive connection): what each poll of a burst costs
        apart from the tasks' own work. Uncounted calls, made after the RUNNING count."""
        ours = self.ours
        ours.describe(arns)  # the first after RUNNING may still see the last change
        began = ours.server_cpu_s()
        for _ in range(STEADY_POLLS):
            ours.describe(arns)
        return (ours.server_cpu_s() - began) / STEADY_POLLS

    def report(self, rounds: int) -> None:
        tasks = 20 * rounds
        print(f"== {self.name}")
        _show("Docker calls until all RUNNING", self.started, tasks)
        _show("Docker calls from StopTask until removed", self.stopped, tasks)
        print(f"our server's CPU per burst until RUNNING: median "
              f"{statistics.median(self.cpu) * 1000:.0f} ms "
              f"({', '.join(f'{c * 1000:.0f}' for c in self.cpu)})")
        print(f"our server's CPU per DescribeTasks of the 20 RUNNING tasks ({STEADY_POLLS} "
              f"polls after each burst): median {statistics.median(self.poll_cpu) * 1e6:.0f} us "
              f"({', '.join(f'{c * 1e6:.0f}' for c in self.poll_cpu)})")

    def close(self) -> None:
        self.ours.close()
        self.proxy.close()


def main(argv: list[str]) -> int:
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 3
    network = servers.task_network(argv)
    # With ECS_BENCH_BASE (a checkout of another commit, as servers.py's "base"), that commit's
    # server too, the two sides alternating which goes first in each round.
    names = ["ours", "base"] if os.environ.get("ECS_BENCH_BASE") else ["ours"]
    sides = []
    try:
        for name in names:
            sides.append(Side(name))
        for index in range(rounds + 1):  # the first a warm-up: the image read, the network found
            for side in (sides if index % 2 == 0 else sides[::-1]):
                side.burst(counted=index > 0)
    finally:
        for side in sides:
            side.close()
    with open("/proc/loadavg") as load:
        average = load.read().split()[0]
    print(f"{rounds} first bursts of 20 bridge tasks "
          f"(ECS_EMULATOR_TASK_NETWORK={network}"
          f"; load average {average} at the end)")
    for side in sides:
        side.report(rounds)
    return 0


def ours_burst(ours: Ours, polls: Polls | None) -> list[str]:
    arns = ours.run_tasks("bridge", 10) + ours.run_tasks("bridge", 10)
    ours.wait_status(arns, "RUNNING", polls)
    return arns


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

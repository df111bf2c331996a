"""The servers a benchmark compares, each in its own process on a free port of 127.0.0.1.

ours       `python -m emulator --port P`, from the project's virtualenv (/work/main/.venv)
moto       `moto_server -H 127.0.0.1 -p P`, moto's Werkzeug server
ministack  `ministack` with GATEWAY_PORT=P (Hypercorn, asyncio); its IoT mTLS listener is off so
           that it does not also bind port 8883
base       `ecs-emulator --port P` from our virtualenv with PYTHONPATH set to ECS_BENCH_BASE: a
           directory holding another commit's emulator/ and api_shapes/ (`git archive main
           emulator api_shapes | tar -x -C DIR`), which are then imported instead of ours; before
           and after a change in one run
floor      floor_server.py here: `{}` to anything, on keep-alive connections; what the client
           alone can reach, not a peer (no targets are set against it)

The peers live in a virtualenv of their own (.cache/bench-venv, git-ignored), made on first use;
the benchmark itself runs in that virtualenv too, so every server meets the same boto3 client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
OUR_PYTHON = REPO / ".venv" / "bin" / "python"
PEER_VENV = REPO / ".cache" / "bench-venv"
PEER_PACKAGES = ("moto[server]", "ministack", "boto3")
_MARKER = PEER_VENV / "bench-packages.txt"


def peer_python() -> Path:
    return PEER_VENV / "bin" / "python"


def ensure_peer_venv() -> Path:
    """Create the peers' virtualenv unless it exists with the same package list; its python."""
    wanted = "\n".join(PEER_PACKAGES) + "\n"
    if _MARKER.exists() and _MARKER.read_text() == wanted and peer_python().exists():
        return peer_python()
    print(f"bench: installing {', '.join(PEER_PACKAGES)} into {PEER_VENV}", file=sys.stderr)
    subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(peer_python()), "-m", "pip", "install", "-q", "--upgrade", *PEER_PACKAGES], check=True
    )
    _MARKER.write_text(wanted)
    return peer_python()


def compile_ours() -> None:
    """Write our package's bytecode (__pycache__), as `pip install` does for the peers' packages.

    Our virtualenv holds an editable install, whose modules are compiled on first import and,
    under PYTHONDONTWRITEBYTECODE (set in some shells and CI), on every start: a cold start would
    then time compiling 150 modules, which no installed emulator does."""
    roots = [REPO] + ([Path(os.environ["ECS_BENCH_BASE"])] if os.environ.get("ECS_BENCH_BASE")
                      else [])
    subprocess.run([str(OUR_PYTHON), "-m", "compileall", "-q",
                    *(str(root / name) for root in roots for name in ("emulator", "api_shapes"))],
                   check=True)


def running_in_peer_venv() -> bool:
    return Path(sys.prefix).resolve() == PEER_VENV.resolve()


@dataclass(frozen=True)
class ServerSpec:
    name: str
    argv: Callable[[int], list[str]]
    env: Callable[[int], dict[str, str]]


SPECS = {
    "ours": ServerSpec(
        "ours", lambda port: [str(OUR_PYTHON), "-m", "emulator", "--port", str(port)], lambda port: {}
    ),
    "moto": ServerSpec(
        "moto",
        lambda port: [str(PEER_VENV / "bin" / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        lambda port: {},
    ),
    "ministack": ServerSpec(
        "ministack",
        lambda port: [str(PEER_VENV / "bin" / "ministack")],
        lambda port: {"GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "IOT_MTLS_ENABLED": "0"},
    ),
    "base": ServerSpec(
        "base", lambda port: [str(OUR_PYTHON.with_name("ecs-emulator")), "--port", str(port)],
        lambda port: {"PYTHONPATH": os.environ["ECS_BENCH_BASE"]},
    ),
    "floor": ServerSpec(
        "floor",
        lambda port: [sys.executable, str(Path(__file__).with_name("floor_server.py")), str(port)],
        lambda port: {},
    ),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One server process; its output goes to a log file, kept for a look when something fails."""

    def __init__(self, spec: ServerSpec, log_dir: Path):
        self.spec = spec
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"{spec.name}-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    def start(self) -> None:
        env = {**os.environ, **self.spec.env(self.port)}
        env.pop("AWS_ENDPOINT_URL", None)
        with open(self.log_path, "wb") as log:
            self.started_at = time.perf_counter()
            self.process = subprocess.Popen(
                self.spec.argv(self.port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def rss_bytes(self) -> int:
        """Resident memory of the process and all its descendants."""
        return sum(_rss_of(pid) for pid in _tree(self.pid))

    def cpu_seconds(self) -> float:
        """CPU time (user and system) used so far by the process and its live descendants."""
        return sum(_cpu_of(pid) for pid in _tree(self.pid))

    def context_switches(self) -> int:
        """Voluntary context switches so far of the process tree's threads (Linux /proc): each a
        thread that blocked, for the GIL among other things (involuntary ones, preemptions, are
        left out). Other work on the machine moves them too: a client that runs on the server's
        core has its next request there before the server would wait for it (README.md)."""
        total = 0
        for pid in _tree(self.pid):
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{pid}/task/{task}/status") as status:
                        total += next(int(line.split()[1]) for line in status
                                      if line.startswith("voluntary_ctxt_switches"))
                except (OSError, StopIteration):
                    continue
        return total


def log_dir() -> Path:
    path = REPO / ".cache" / "bench-logs"
    path.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="run-", dir=path))


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # the command name in parentheses may hold spaces: split after its closing one
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def task_network(argv: list[str]) -> str:
    """`--task-network emulator|default-bridge` taken out of `argv` (the emulator's default when
    absent) and put in ECS_EMULATOR_TASK_NETWORK for every server started after (Server passes
    os.environ on): said explicitly even for the default, so that a base checkout
    (ECS_BENCH_BASE) of a commit whose default differed runs its tasks on the same network.
    Returns the network, for the report."""
    if "--task-network" in argv:
        at = argv.index("--task-network")
        network = argv[at + 1]
        del argv[at:at + 2]
    else:
        sys.path.insert(0, str(REPO))
        from emulator.config import Settings

        network = os.environ.get("ECS_EMULATOR_TASK_NETWORK") or Settings.task_network
    os.environ["ECS_EMULATOR_TASK_NETWORK"] = network
    return network


def versions() -> dict[str, str]:
    """Versions of what is compared, for the results' header."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for package in ("moto", "ministack", "boto3"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = "?"
    ours = subprocess.run(
        [str(OUR_PYTHON), "-c", "import cheroot, flask; print(cheroot.__version__, flask.__version__)"],
        capture_output=True, text=True,
    ).stdout.split()
    if len(ours) == 2:
        found["cheroot"], found["flask"] = ours
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    found["ours"] = commit or "?"
    found["python"] = sys.version.split()[0]
    found["load"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return found

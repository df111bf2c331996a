"""The two registries the registry benchmark compares, each a process on a free port of 127.0.0.1
with storage in a temporary directory of its own, started afresh whenever a measurement needs
empty storage.

distribution  Debian's `docker-registry` (the CNCF distribution registry), no auth, from a config
              file written here; installed with apt-get when missing. The Debian service that the
              package may start is stopped and disabled: only the process started here runs.
ours          `python -m emulator` from the project's virtualenv (servers.py), registry auth off
              (ECS_EMULATOR_REGISTRY_AUTH=0); ECR wants a repository made before a push, so
              `create_repository` makes it through the ECR API.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import servers

DISTRIBUTION = "docker-registry"
_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def ensure_distribution() -> str:
    """Install Debian's docker-registry if needed, keep its service down; its version."""
    if shutil.which(DISTRIBUTION) is None:
        print("bench: installing docker-registry with apt-get", file=sys.stderr)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", DISTRIBUTION], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    _stop_service()
    out = subprocess.run([DISTRIBUTION, "--version"], capture_output=True, text=True).stdout
    return out.split()[-1] if out.split() else "?"


def _stop_service() -> None:
    """The package's service listens on :5000 with auth; nothing here uses it, so off it goes,
    however this machine runs services (systemd, or sysvinit scripts without it)."""
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if shutil.which("systemctl"):
        subprocess.run(["systemctl", "disable", "--now", DISTRIBUTION], **quiet)
    if shutil.which("service"):
        subprocess.run(["service", DISTRIBUTION, "stop"], **quiet)
    if shutil.which("update-rc.d"):
        subprocess.run(["update-rc.d", DISTRIBUTION, "disable"], **quiet)


class Registry:
    """One registry process with empty storage; `fresh()` replaces it with a new one."""

    name = ""

    def __init__(self, logs: Path):
        self.logs = logs
        self.work = Path(tempfile.mkdtemp(prefix=f"bench-registry-{self.name}-"))
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._generation = 0

    @property
    def host(self) -> str:
        """host:port, as docker names the registry in an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def fresh(self) -> "Registry":
        """Stop the running process, if any, and start one on empty storage and a new port (so
        docker knows no blob of it and cannot mount one from an earlier round)."""
        self.stop()
        self._generation += 1
        storage = self.work / f"storage-{self._generation}"
        storage.mkdir()
        self.port = servers.free_port()
        self.process = self._start(storage)
        self._wait()
        return self

    def create_repository(self, name: str) -> None:
        """Make `name` pushable (distribution makes repositories on push)."""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        for old in self.work.glob("storage-*"):
            shutil.rmtree(old, ignore_errors=True)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def _start(self, storage: Path) -> subprocess.Popen:
        raise NotImplementedError

    def _wait(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            connection = self.connection()
            try:
                connection.request("GET", "/v2/")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.05)
        raise SystemExit(f"bench: {self.name} did not start; see {self._log_path()}")

    def _log_path(self) -> Path:
        return self.logs / f"{self.name}-{self._generation}.log"

    def _popen(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        with open(self._log_path(), "wb") as log:
            return subprocess.Popen(argv, env={**os.environ, **(env or {})}, cwd=servers.REPO,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)


class Distribution(Registry):
    name = "distribution"

    def _start(self, storage: Path) -> subprocess.Popen:
        config = self.work / "config.yml"
        config.write_text(_CONFIG.format(storage=storage, port=self.port))
        return self._popen([DISTRIBUTION, "serve", str(config)])


class Ours(Registry):
    name = "ours"

    def _start(self, storage: Path) -> subprocess.Popen:
        env = {"ECS_EMULATOR_DATA_DIR": str(storage), "ECS_EMULATOR_REGISTRY_AUTH": "0"}
        argv = [str(servers.OUR_PYTHON), "-m", "emulator", "--port", str(self.port), "--quiet"]
        return self._popen(argv, env)

    def create_repository(self, name: str) -> None:
        import boto3

        ecr = boto3.session.Session().client(
            "ecr", endpoint_url=f"http://{self.host}", region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing")
        ecr.create_repository(repositoryName=name)


def status_kib(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in KiB (VmRSS, VmHWM), 0 when gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of one process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

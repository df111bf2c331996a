"""Extra Docker Engines beside the machine's own, for tests of engine outages and of several
engines (scripts/extra-dockerd.sh starts and stops them; see there what each one has of its own)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "extra-dockerd.sh"

# dockerd needs root (CI runs the suite as root, with docker.io installed by ensure-docker.sh).
needs_root_and_dockerd = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dockerd") is None,
    reason="starting extra Docker Engines needs root and dockerd")


class ExtraEngine:
    """One extra dockerd: `host` is its DOCKER_HOST."""

    def __init__(self, name: str, index: int):
        self.name, self.index = name, index
        self.host = self._script("host").strip()

    def _script(self, command: str, *args: str) -> str:
        return subprocess.run([str(SCRIPT), command, self.name, *args], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    def start(self) -> "ExtraEngine":
        self._script("start", str(self.index))
        return self

    def stop(self) -> None:
        self._script("stop")

    def freeze(self) -> None:
        """SIGSTOP: the engine stops answering, its containers run on (an engine lost)."""
        self._script("freeze")

    def thaw(self) -> None:
        self._script("thaw")

    def remove(self) -> None:
        self._script("remove", str(self.index))

    def load(self, image: str) -> None:
        """Copy `image` from the machine's engine into this one (offline: no registry)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["docker", "-H", self.host, "load", "-q"], stdin=save.stdout, check=True,
                       capture_output=True, timeout=120)
        save.stdout.close()
        assert save.wait(timeout=60) == 0

    def api(self):
        import docker

        return docker.APIClient(base_url=self.host, version="1.41", timeout=30)

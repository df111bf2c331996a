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
    """One extra dockerd: `host` is its DOCKER_HOST; with `tls` (a directory of make_certs's
    server side) it also listens on `tls_host` with --tlsverify."""

    def __init__(self, name: str, index: int, tls: Path | None = None):
        self.name, self.index, self.tls = name, index, tls
        self.host = self._script("host").strip()
        self.tls_host = self._script("tls-host", str(index)).strip()

    def _script(self, command: str, *args: str) -> str:
        environment = {**os.environ, "EXTRA_DOCKERD_TLS": str(self.tls or "")}
        return subprocess.run([str(SCRIPT), command, self.name, *args], check=True,
                              capture_output=True, text=True, timeout=60,
                              env=environment).stdout

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


def make_certs(directory: Path) -> tuple[Path, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl as
    Docker's "Protect the Docker daemon socket" makes them: (the server's directory, with ca.pem,
    server-cert.pem, server-key.pem; the client's, with ca.pem, cert.pem, key.pem, as
    DOCKER_CERT_PATH holds them)."""
    server, client = directory / "server", directory / "client"
    server.mkdir(parents=True)
    client.mkdir()

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60,
                       cwd=directory)

    # EC keys: RSA ones take seconds to make on a busy CI runner
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=test-ca", "-keyout", "ca-key.pem", "-out",
            "ca.pem")
    for side, name, usage in ((server, "server", "serverAuth"), (client, "client", "clientAuth")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-subj", f"/CN={name}", "-keyout", f"{name}-key.pem", "-out", f"{name}.csr")
        extensions = directory / f"{name}.ext"
        extensions.write_text(f"extendedKeyUsage = {usage}\n" + (
            "subjectAltName = IP:127.0.0.1\n" if name == "server" else ""))
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", str(extensions),
                "-out", f"{name}-cert.pem")
    shutil.copy(directory / "ca.pem", server / "ca.pem")
    shutil.copy(directory / "server-cert.pem", server / "server-cert.pem")
    shutil.copy(directory / "server-key.pem", server / "server-key.pem")
    shutil.copy(directory / "ca.pem", client / "ca.pem")
    shutil.copy(directory / "client-cert.pem", client / "cert.pem")
    shutil.copy(directory / "client-key.pem", client / "key.pem")
    return server, client

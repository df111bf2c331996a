"""Extra Docker Engines beside the machine's own, for tests of engine outages and of several
engines (scripts/extra-dockerd.sh starts and stops them; see there what each one has of its own).

Two test sessions on one machine (two engineers, or CI beside a developer) may each start some
at once: an engine's directory and socket carry its session's pid, and its INDEX (which picks
its bridge, subnets and TLS port) is claimed for the session by a file under CLAIMS, made
atomically. A claim whose session died (killed mid-run: no fixture ran its clean-up) is taken
over, and that session's engine removed first, by the next session to claim any index.

The removal runs as root on what a claim names, so a claim is trusted only from a directory
this user owns that no one else may write to, only when its name is one ExtraEngine makes (no
path in it) and only when its session ran in this pid namespace on this host (elsewhere its pid
says nothing of whether it lives).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest

from emulator.runtime.labels import pid_alive, process_start

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "extra-dockerd.sh"
CLAIMS = Path(os.environ.get("EXTRA_DOCKERD_ROOT") or "/tmp/ecs-emulator-dockerd") / ".claims"
# 10.<200+INDEX>.0.0/24 for the bridge and 10.<210+INDEX>.0.0/16 for its networks: no two of
# 1-10 overlap (bridges 10.201-10.210, pools 10.211-10.220). Tried in this order: first those
# no one else uses, then those sessions of older checkouts use without a claim (their tests'
# fixed indexes), last scripts/bench/engines.py's (which claims nothing).
INDEX_TIERS = ((8, 9, 10), (1, 2, 3, 6, 7), (4, 5))
INDEXES = tuple(i for tier in INDEX_TIERS for i in tier)
NAME = re.compile(r"^[a-z0-9-]+-(\d+)$")  # what ExtraEngine names: <name>-<its session's pid>
CLAIM_WAIT_S = 300  # all taken by other sessions: wait for one of their modules to end

# dockerd needs root (CI runs the suite as root, with docker.io installed by ensure-docker.sh).
needs_root_and_dockerd = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("dockerd") is None,
    reason="starting extra Docker Engines needs root and dockerd")


class ExtraEngine:
    """One extra dockerd of this session: `host` is its DOCKER_HOST; with `tls` (a directory of
    make_certs's server side) it also listens on `tls_host` with --tlsverify. `index` is the
    one it would like; it gets a free one at `start` (held until `remove`)."""

    def __init__(self, name: str, index: int, tls: Path | None = None):
        self.name, self.wanted, self.tls = f"{name}-{_pid()}", index, tls
        self.index: int | None = None
        self.host = self._script("host").strip()

    @property
    def tls_host(self) -> str:
        return self._script("tls-host", str(self.index)).strip()

    def _script(self, command: str, *args: str) -> str:
        environment = {**os.environ, "EXTRA_DOCKERD_TLS": str(self.tls or "")}
        return subprocess.run([str(SCRIPT), command, self.name, *args], check=True,
                              capture_output=True, text=True, timeout=60,
                              env=environment).stdout

    def start(self) -> "ExtraEngine":
        if self.index is None:
            self.index = claim_index(self.name, self.wanted)
        try:
            self._script("start", str(self.index))
        except BaseException:
            self.remove()  # what half came up, and the claim
            raise
        return self

    def stop(self) -> None:
        self._script("stop")

    def freeze(self) -> None:
        """SIGSTOP: the engine stops answering, its containers run on (an engine lost)."""
        self._script("freeze")

    def thaw(self) -> None:
        self._script("thaw")

    def remove(self) -> None:
        """Stop it, remove its data, bridge and files, and give its index back."""
        if self.index is None:
            return
        self._script("remove", str(self.index))
        release_index(self.index, self.name)
        self.index = None

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


def claim_index(name: str, wanted: int) -> int:
    """An index no live session holds (`wanted` first of its tier, if free), now `name`'s: its
    claim file is linked into place whole, so two sessions never both hold one. Dead sessions'
    claims are taken back first, their engines removed."""
    _own_claims_directory()
    mine = CLAIMS / f".new-{name}"
    mine.write_text(json.dumps({"name": name, "pid": _pid(), "start": process_start(_pid()),
                                **_where()}))
    try:
        deadline = time.monotonic() + CLAIM_WAIT_S
        while True:
            _take_back_dead_claims(mine, name)
            for index in _in_order(wanted):
                try:
                    os.link(mine, CLAIMS / f"index-{index}")
                except FileExistsError:
                    continue
                if _bridge_exists(index):  # someone who claims nothing (a benchmark) uses it
                    release_index(index, name)
                    continue
                return index
            if time.monotonic() > deadline:
                raise RuntimeError(f"no extra dockerd index free in {CLAIM_WAIT_S} s: other "
                                   f"test sessions hold {sorted(INDEXES)} (see {CLAIMS})")
            time.sleep(1.0)
    finally:
        mine.unlink()


def _in_order(wanted: int) -> list[int]:
    return [i for tier in INDEX_TIERS for i in sorted(tier, key=lambda i: i != wanted)]


def release_index(index: int, name: str) -> None:
    path = CLAIMS / f"index-{index}"
    if _holder(path).get("name") == name:
        path.unlink(missing_ok=True)


def _holder(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _bridge_exists(index: int) -> bool:
    return subprocess.run(["ip", "link", "show", f"ecsx{index}"],
                          capture_output=True).returncode == 0


def _pid() -> int:
    return os.getpid()  # one place, so that unit tests can play another session


def _where() -> dict:
    """Where a claim's pid means something: its pid namespace and host."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return {"pidns": namespace, "host": socket.gethostname()}


def _own_claims_directory() -> None:
    """CLAIMS (and the engines' root above it), made if missing; refused unless this user owns
    them and no one else may write there: another local user who made them first could
    otherwise plant claims naming what our root-run removal would delete."""
    for directory in (CLAIMS.parent, CLAIMS):
        try:
            directory.mkdir(mode=0o755, parents=True)
        except FileExistsError:
            pass
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() \
                or info.st_mode & 0o022:
            raise RuntimeError(
                f"{directory} is not a directory of this user's that only it may write to: "
                f"refusing to use its extra dockerds' claims (remove it, or set "
                f"EXTRA_DOCKERD_ROOT to a directory of your own)")


def _dead_claim(path: Path) -> tuple[dict, int] | None:
    """(the claim, its index) when `path` is a claim this session may take back: well formed,
    made in this pid namespace on this host, of a session no longer alive."""
    holder = _holder(path)
    try:
        index, pid = int(path.name.split("-", 1)[1]), int(holder["pid"])
        named = NAME.match(holder["name"])
    except (KeyError, TypeError, ValueError):
        return None
    if index not in INDEXES or not named or int(named.group(1)) != pid \
            or {k: holder.get(k) for k in ("pidns", "host")} != _where() \
            or pid_alive(pid, holder.get("start", "")):
        return None
    return holder, index


def _take_back_dead_claims(mine: Path, name: str) -> None:
    for path in CLAIMS.glob("index-*"):
        dead = _dead_claim(path)
        if dead is None:
            continue
        holder, index = dead
        # Renamed before anything is removed: of two sessions taking it back, one goes on.
        grave = CLAIMS / f".dead-{path.name}-{_pid()}"
        try:
            path.rename(grave)
        except FileNotFoundError:
            continue
        if _holder(grave).get("name") != holder["name"]:  # a live claim made meanwhile
            try:
                os.link(grave, path)
            except FileExistsError:
                pass
            grave.unlink(missing_ok=True)
            continue
        # The index stays held, by this session, until the dead engine is gone. (A claim made
        # between the rename and this link, by another session, finds the dead engine's
        # bridge still up and passes the index over.)
        try:
            os.link(mine, path)
        except FileExistsError:
            pass
        try:
            _remove_engine(holder["name"], index)
            removed = True
        except subprocess.TimeoutExpired:
            removed = False
        release_index(index, name)
        if not removed:  # its engine may still be there: its claim goes back, to try again later
            try:
                os.link(grave, path)
            except FileExistsError:
                pass
        grave.unlink(missing_ok=True)


def _remove_engine(name: str, index: int) -> None:
    subprocess.run([str(SCRIPT), "remove", name, str(index)], capture_output=True, timeout=120)


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

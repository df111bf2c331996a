"""Serving the emulator on 169.254.170.2:80, the address ECS serves task credentials on.

The AWS SDKs fetch container credentials only from loopback, 169.254.170.2, 169.254.170.23 or
fd00:ec2::23, so the emulator's usual address for containers (its Docker network's gateway) will
not do. On Linux as root we add 169.254.170.2/32 to the Docker network's bridge interface and
listen there on port 80 with the emulator's WSGI app behind the containers' gate (access/gate.py:
connections from outside the emulator's network are closed, and a task reads only its own
credentials and metadata): a container's packets for that address go to its gateway, which is
this host, which owns the address. The address leaves with the bridge when the network is
removed, and on stop (with ECS_EMULATOR_TASK_NETWORK=default-bridge the network is Docker's
default bridge: the address goes on docker0, and is taken off it on stop, by the emulator that
added it only; docker0 stays, so after a crash the address does too, until the next emulator
that serves there stops). Containers of another Docker Engine on this machine (engine/engines.py) reach
it the same way: their gateway is this host too, which answers for its addresses on every
interface; the gate tells them by their addresses on their engine's network.

Where that is impossible (not Linux, not root, no `ip` command, a Docker Engine in a VM as with
Docker Desktop, port 80 taken by another emulator) `available()` says False, once logging why,
and tasks get their credentials in their environment instead (engine/task_credentials.py).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import threading
from typing import Callable

from emulator.access.host_addresses import is_local_address

log = logging.getLogger("emulator.credentials")

ADDRESS = "169.254.170.2"
PORT = 80
TURNED_OFF = "turned off (ECS_EMULATOR_LINK_LOCAL_CREDENTIALS)"


class LinkLocalEndpoint:
    def __init__(self, gate: Callable[[], object], gateway: Callable[[], str],
                 enabled: bool = True):
        self._gate = gate  # makes the WSGI app for a listener containers reach (access/gate.py)
        self._gateway = gateway  # the emulator network's gateway IP (creates the network)
        self._enabled = enabled
        self._lock = threading.Lock()
        self._server = None
        self._interface: str | None = None  # where we added the address
        self._refused: str | None = None  # why it cannot be served, once decided

    def available(self) -> bool:
        """Whether containers on the emulator's network reach the emulator at 169.254.170.2."""
        with self._lock:
            if self._refused is not None:
                return False
            if self._server is not None and is_local_address(ADDRESS):
                return True
            reason = self._serve()
            if reason is not None:
                self._refused = reason
                # Said once, and quietly when the user turned it off.
                log.log(logging.INFO if reason == TURNED_OFF else logging.WARNING,
                        "task credentials are not served on %s (%s); tasks get the task "
                        "role's keys in their environment instead", ADDRESS, reason)
                return False
            return True

    def serves(self, gateway: str) -> bool:
        """Whether containers whose network has `gateway` reach us at 169.254.170.2: those of
        every Docker Engine on this machine (the host owns the address on one bridge and answers
        for it on all, as for any of its addresses), not those of an engine elsewhere."""
        return self.available() and is_local_address(gateway)

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
            if self._interface is not None:
                _ip("addr", "del", f"{ADDRESS}/32", "dev", self._interface)
                self._interface = None

    # -- setting up -------------------------------------------------------------------------------

    def _serve(self) -> str | None:
        """Add the address and listen on it; None on success, else why not."""
        reason = self._cannot()
        if reason is not None:
            return reason
        gateway = self._gateway()
        interface = interface_with(gateway)
        if interface is None:
            return (f"the Docker network's gateway {gateway} is no address of this host, as with "
                    "Docker Desktop or a remote Docker Engine")
        found = None  # the address there already: another emulator's, or a dead one's
        if not is_local_address(ADDRESS) or self._interface != interface:
            failure = _ip("addr", "add", f"{ADDRESS}/32", "dev", interface)
            # (iproute2 says it is there already as "File exists" or, newer, "Address already
            # assigned")
            if failure and "File exists" not in failure and "already assigned" not in failure:
                return f"cannot add {ADDRESS} to {interface}: {failure}"
            # Only an address this emulator added is its to take off: one there already is
            # another's (on docker0, a second default-bridge emulator's, whose listen fails).
            if failure is None:
                self._interface = interface
            else:
                found = interface
        if self._server is None:
            reason = self._listen()
            if reason is None and found is not None:
                # Nobody listened there: left by an emulator that crashed (docker0 outlives
                # it); ours to take off on stop now.
                self._interface = found
            return reason
        return None

    def _cannot(self) -> str | None:
        if not self._enabled:
            return TURNED_OFF
        if not sys.platform.startswith("linux"):
            return f"not on Linux but {sys.platform}"
        if os.geteuid() != 0:
            return "not running as root, which adding the address needs"
        import shutil  # (here and below: only a task's first call comes this way; the
        # server's start-up does without them, see emulator/cli.py)

        if shutil.which("ip") is None:
            return "no `ip` command (iproute2) to add the address with"
        return None

    def _listen(self) -> str | None:
        from emulator.access.gate import listen_for_containers

        try:
            server = listen_for_containers((ADDRESS, PORT), self._gate())
        except OSError as error:
            if self._interface is not None:
                _ip("addr", "del", f"{ADDRESS}/32", "dev", self._interface)
                self._interface = None
            taken = error.errno == errno.EADDRINUSE or "in use" in str(error)
            return (f"{ADDRESS}:{PORT} is taken (another emulator?)" if taken
                    else f"cannot listen on {ADDRESS}:{PORT}: {error}")
        threading.Thread(target=server.serve, name="ecs-emulator-credentials", daemon=True).start()
        self._server = server
        return None


def interface_with(address: str) -> str | None:
    """The name of this host's interface that has `address`, if any."""
    import subprocess

    try:
        output = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True,
                                text=True, timeout=10, check=True).stdout
        interfaces = json.loads(output)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    for interface in interfaces:
        if any(info.get("local") == address for info in interface.get("addr_info", [])):
            return interface.get("ifname")
    return None


def _ip(*args: str) -> str | None:
    """Run `ip args...`; None on success, else what it said."""
    import subprocess

    try:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as error:
        return str(error)
    return None if result.returncode == 0 else (result.stderr or result.stdout).strip()

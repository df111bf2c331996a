"""The container's end of an ECS Exec session: `docker exec` of the command with a TTY, through
the docker SDK's low-level client (exec_create, exec_start with socket=True, exec_resize).

The command is split into words as the SSM agent does for ECS Exec (no shell: `--command "sh -c
'echo a | wc -c'"` is how a pipe is run, on AWS too).
"""

from __future__ import annotations

import logging
import select
import shlex
import socket

from emulator.runtime.base import unanswered

log = logging.getLogger("emulator.exec")

READ_SIZE = 32 * 1024
NOT_ANSWERING = ("the Docker Engine that runs the task's containers is not answering (its "
                 "connection was refused or cut off, or it gave no answer in time): once it "
                 "answers again, run the command again")


class ExecStartError(Exception):
    """Docker refused the exec: the container is gone, or the command cannot be split."""


class DockerExec:
    def __init__(self, api, container_id: str, command: str, rows: int, cols: int):
        try:
            argv = shlex.split(command)
        except ValueError as error:
            raise ExecStartError(f"the command cannot be split into words: {error}") from None
        if not argv:
            raise ExecStartError("the command is empty")
        self._api = api
        try:
            self.exec_id = api.exec_create(container_id, argv, stdin=True, tty=True)["Id"]
            raw = api.exec_start(self.exec_id, tty=True, socket=True)
        except Exception as error:  # docker.errors.APIError and connection errors alike
            if unanswered(error):  # (the SDK's text is a tuple: "('Connection aborted.', ...")
                log.warning("exec in container %s: the Docker Engine did not answer: %r",
                            container_id[:12], error)  # (which of the three, for whoever looks)
                raise ExecStartError(NOT_ANSWERING) from None
            raise ExecStartError(getattr(error, "explanation", None) or str(error)) from None
        # The SDK hands back a SocketIO (or the socket itself); we want the socket.
        self._sock: socket.socket = getattr(raw, "_sock", raw)
        self.resize(rows, cols)

    def resize(self, rows: int, cols: int) -> None:
        try:
            self._api.exec_resize(self.exec_id, height=rows, width=cols)
        except Exception as error:  # the process may be gone already; not worth failing for
            log.debug("resizing exec %s failed: %s", self.exec_id[:12], error)

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as error:
            log.debug("writing to exec %s failed: %s", self.exec_id[:12], error)

    def read(self, timeout: float) -> bytes | None:
        """Output as it comes: b"" when nothing came within `timeout`, None at the end."""
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return b""
            chunk = self._sock.recv(READ_SIZE)
        except (OSError, ValueError):  # ValueError: select on a closed socket
            return None
        return chunk or None

    def exit_code(self) -> int | None:
        try:
            return self._api.exec_inspect(self.exec_id).get("ExitCode")
        except Exception:
            return None

    def close(self) -> None:
        """Hang up: the TTY's process sees its terminal go (as when a session is closed)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._sock.close()
        except OSError:
            pass

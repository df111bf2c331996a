"""One libnftables context, through ctypes: nftables commands run in this process, on one netlink
socket, without forking `nft`.

The socket matters: a table made with `flags owner` belongs to the netlink socket that made it;
only that socket may change it, and the kernel removes the table when the socket closes (on
nft_ctx_free, or when the process dies, SIGKILL included). libnftables opens its socket in
nft_ctx_new and keeps it until nft_ctx_free (since 0.9.9 it never reopens one), so one Context
is one owner. We mark the socket close-on-exec, so that a program the emulator starts cannot
keep a dead emulator's table alive.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import threading

LIBRARY = "libnftables.so.1"
NETLINK_NETFILTER = 12


class NftError(Exception):
    """A command the kernel or libnftables refused; the message is nft's own."""


class Context:
    """A libnftables context; run() is serialised (a context is not thread-safe)."""

    def __init__(self, library: str = LIBRARY):
        self._lib = _load(library)  # OSError: no libnftables
        self._lock = threading.Lock()
        with self._lock:
            before = _sockets()
            self._ctx = self._lib.nft_ctx_new(0)  # NFT_CTX_DEFAULT: with its netlink socket
            if not self._ctx:
                raise OSError("nft_ctx_new failed")
            self._lib.nft_ctx_buffer_output(self._ctx)
            self._lib.nft_ctx_buffer_error(self._ctx)
            # The socket is listed as a netfilter one once it has talked (bound on first send).
            self._lib.nft_run_cmd_from_buffer(self._ctx, b"list tables bridge")
            for fd in _netfilter(_sockets() - before):
                fcntl.fcntl(fd, fcntl.F_SETFD, fcntl.fcntl(fd, fcntl.F_GETFD) | fcntl.FD_CLOEXEC)

    def run(self, commands: str) -> str:
        """Run `commands` (one transaction: all or nothing); their output. Raises NftError."""
        with self._lock:
            if not self._ctx:
                raise NftError("the nftables context is closed")
            failed = self._lib.nft_run_cmd_from_buffer(self._ctx, commands.encode())
            output = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode()
            errors = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode()
        if failed:
            raise NftError(errors.strip() or f"nft failed ({failed})")
        return output

    def close(self) -> None:
        """Free the context; its socket closes, and with it every table it owns."""
        with self._lock:
            if self._ctx:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None


def _load(library: str):
    lib = ctypes.CDLL(library, use_errno=True)
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    for name in ("nft_ctx_buffer_output", "nft_ctx_buffer_error"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    for name in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
        getattr(lib, name).argtypes = [ctypes.c_void_p]
        getattr(lib, name).restype = ctypes.c_char_p
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_free.restype = None
    return lib


def _sockets() -> set[tuple[int, str]]:
    """(fd, inode) of this process's open sockets."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            found.add((int(name), target[8:-1]))
    return found


def _netfilter(sockets: set[tuple[int, str]]) -> list[int]:
    """The fds among `sockets` that are NETLINK_NETFILTER sockets."""
    try:
        with open("/proc/self/net/netlink", encoding="ascii") as table:
            next(table)
            inodes = {row[-1] for row in (line.split() for line in table)
                      if len(row) >= 10 and row[1] == str(NETLINK_NETFILTER)}
    except OSError:
        return []
    return [fd for fd, inode in sockets if inode in inodes]

#!/usr/bin/env python3
"""Peak memory of the emulator while a large layer goes through its registry.

    .venv/bin/python scripts/measure-registry-memory.py [SIZE_MB]   (default 1024)

Starts `ecs-emulator` on a free port in a child process (registry auth off), creates two ECR
repositories, pushes SIZE_MB of bytes as one blob
(a chunked-encoded PATCH, as docker sends it, then a monolithic POST with Content-Length),
pulls it back, and prints the server's resident memory before and its peak (VmHWM) after.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

BLOCK = os.urandom(1024 * 1024)


def main() -> int:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    port = _free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "ECS_EMULATOR_DATA_DIR": data_dir, "ECS_EMULATOR_REGISTRY_AUTH": "0"}
        server = subprocess.Popen([str(Path(sys.executable).parent / "ecs-emulator"), "--port",
                                   str(port), "--quiet"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base)
            _create_repositories(base, "big", "big2")
            print(f"server RSS at rest: {_status(server.pid, 'VmRSS')}")
            digest = _digest(size_mb)
            started = time.time()
            location = requests.post(f"{base}/v2/big/blobs/uploads/").headers["Location"]
            requests.patch(base + location, data=_blocks(size_mb)).raise_for_status()
            requests.put(f"{base}{location}?digest={digest}").raise_for_status()
            print(f"chunked PATCH of {size_mb} MiB: {time.time() - started:.1f}s")
            started = time.time()
            requests.post(f"{base}/v2/big2/blobs/uploads/?digest={digest}",
                          data=_Sized(size_mb)).raise_for_status()
            print(f"monolithic POST of {size_mb} MiB: {time.time() - started:.1f}s")
            with requests.get(f"{base}/v2/big/blobs/{digest}", stream=True) as pulled:
                received = sum(len(c) for c in pulled.iter_content(1024 * 1024))
            assert received == size_mb * len(BLOCK)
            print(f"server peak RSS (VmHWM) after push and pull: {_status(server.pid, 'VmHWM')}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return 0


def _create_repositories(base: str, *names: str) -> None:
    """ECR answers NAME_UNKNOWN for pushes to repositories it did not create."""
    import boto3

    ecr = boto3.client("ecr", endpoint_url=base, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for name in names:
        ecr.create_repository(repositoryName=name)


def _blocks(size_mb: int):
    for _ in range(size_mb):
        yield BLOCK


class _Sized:
    """A file-like body of known length, so requests sends Content-Length, not chunks."""

    def __init__(self, size_mb: int):
        self._left = size_mb

    def __len__(self) -> int:
        return self._left * len(BLOCK)

    def read(self, _size: int = -1) -> bytes:
        if self._left == 0:
            return b""
        self._left -= 1
        return BLOCK


def _digest(size_mb: int) -> str:
    hasher = hashlib.sha256()
    for block in _blocks(size_mb):
        hasher.update(block)
    return f"sha256:{hasher.hexdigest()}"


def _status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            kib = int(line.split()[1])
            return f"{kib / 1024:.1f} MiB"
    return "?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(base: str) -> None:
    for _ in range(200):
        try:
            requests.get(f"{base}/v2/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("the emulator did not start")


if __name__ == "__main__":
    sys.exit(main())

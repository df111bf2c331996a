"""The run's account of a Docker that stopped answering (tests/docker_hang.py), on dumps in the
form dockerd writes them on SIGUSR1."""

import os

from tests import docker_hang

# Two goroutines of Docker 20.10's deadlock (moby/moby#42545), one waiting on another lock, and
# idle ones, as a Go 1.19 dockerd writes them (the function line, then its file, indented).
DUMP = """goroutine 1 [select, 95 minutes]:
github.com/docker/docker/daemon.(*Daemon).loop(0xc000)
\t/build/daemon/daemon.go:10 +0x1

goroutine 7261778 [semacquire, 144 minutes]:
sync.runtime_SemacquireMutex(0xc00da48afc, 0x0, 0x1)
\t/usr/lib/go/src/runtime/sema.go:71 +0x49
sync.(*Mutex).Lock(...)
\t/usr/lib/go/src/sync/mutex.go:81
github.com/docker/libnetwork.(*controller).SandboxDestroy(0xc00da48a00)
\t/build/libnetwork/controller.go:1241 +0x1bc
github.com/docker/docker/daemon.(*Daemon).allocateNetwork(0xc00000c3c0)
\t/build/daemon/container_operations.go:540 +0xcf

goroutine 7261790 [semacquire, 140 minutes]:
sync.runtime_SemacquireMutex(0xc00da48afc, 0x0, 0x1)
\t/usr/lib/go/src/runtime/sema.go:71 +0x49
github.com/docker/libnetwork.(*controller).SandboxDestroy(0xc00da48a00)
\t/build/libnetwork/controller.go:1241 +0x1bc

goroutine 37031 [sync.Mutex.Lock, 150 minutes]:
sync.runtime_SemacquireMutex(0xc0015f48b4)
\t/usr/lib/go/src/runtime/sema.go:71 +0x49
github.com/docker/libnetwork.(*network).ID(0xc0015f4700)
\t/build/libnetwork/network.go:254 +0xbd
github.com/docker/libnetwork.(*controller).processEndpointDelete(0xc000)
\t/build/libnetwork/store.go:403 +0x9c

goroutine 40 [semacquire]:
sync.runtime_SemacquireMutex(0xc0015f48b4)
\t/usr/lib/go/src/runtime/sema.go:71 +0x49
github.com/docker/docker/daemon.(*Daemon).briefly(0xc000)
\t/build/daemon/brief.go:1 +0x1
"""


def test_long_lock_waits_are_grouped_by_where_they_wait():
    lines = docker_hang.long_waits(DUMP)
    assert lines[0] == ("2 goroutine(s) waiting up to 144 min in "
                        "github.com/docker/libnetwork.(*controller).SandboxDestroy")
    # The first one's stack stands for them, without the argument words.
    assert lines[1:5] == ["    sync.runtime_SemacquireMutex", "    sync.(*Mutex).Lock",
                          "    github.com/docker/libnetwork.(*controller).SandboxDestroy",
                          "    github.com/docker/docker/daemon.(*Daemon).allocateNetwork"]
    assert ("1 goroutine(s) waiting up to 150 min in "
            "github.com/docker/libnetwork.(*network).ID") in lines
    # An idle select and a lock waited on for less than a minute are not a hang.
    assert not any("loop" in line or "briefly" in line for line in lines)


def test_only_a_docker_client_timeout_counts():
    assert docker_hang.timed_out_on_docker(
        "requests.exceptions.ReadTimeout: UnixHTTPConnectionPool(host='localhost', port=None): "
        "Read timed out. (read timeout=60)")
    assert not docker_hang.timed_out_on_docker("AssertionError: timed out after 60s")


def test_only_a_dockerd_named_by_its_pid_file_is_signalled(tmp_path):
    """A process that calls itself dockerd is not asked (SIGUSR1 would end it): only the pid the
    pid file names, and only if that process runs the dockerd binary."""
    pid_file = tmp_path / "docker.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # this test's python, not dockerd
    assert docker_hang.machine_dockerd_pid(str(pid_file)) is None
    pid_file.write_text("not a pid")
    assert docker_hang.machine_dockerd_pid(str(pid_file)) is None
    assert docker_hang.machine_dockerd_pid(str(tmp_path / "absent.pid")) is None

"""One emulator per data directory (emulator/data_lock.py): a second refuses to start on the
directory a live one holds, naming it and the holder's pid; the lock goes with its holder, a
SIGKILL included, and with a stopped emulator."""

from __future__ import annotations

import errno
import fcntl
import os
import selectors
import signal
import stat
import subprocess
import sys

import pytest

from emulator import data_lock
from emulator.app import create_app
from emulator.config import Settings
from tests.test_cli import BIN, clean_env, free_port, start  # noqa: F401  (start is a fixture)

_HOLD_IN_A_CHILD = ("import sys, time; from emulator import data_lock; "
                    "held = data_lock.hold(sys.argv[1]); print('held', flush=True); "
                    "time.sleep(600)")


def test_a_held_directory_is_refused_with_its_path_and_holders_pid(tmp_path):
    held = data_lock.hold(str(tmp_path))
    with pytest.raises(data_lock.DataDirectoryInUse) as refused:
        data_lock.hold(str(tmp_path))
    message = str(refused.value)
    assert str(tmp_path.resolve()) in message and f"pid {os.getpid()}" in message
    held.release()
    data_lock.hold(str(tmp_path)).release()  # free again once let go


def test_a_new_directory_is_made_its_owners_only(tmp_path):
    fresh = tmp_path / "new" / "data"
    data_lock.hold(str(fresh)).release()
    assert fresh.is_dir() and stat.S_IMODE(fresh.stat().st_mode) == 0o700


def test_the_kernel_lets_go_of_a_killed_holders_lock(tmp_path):
    """No pid file to judge: a holder killed with SIGKILL leaves the directory free."""
    child = subprocess.Popen([sys.executable, "-c", _HOLD_IN_A_CHILD, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert _line_within(child.stdout, 60) == "held"
        with pytest.raises(data_lock.DataDirectoryInUse, match=f"pid {child.pid}"):
            data_lock.hold(str(tmp_path))
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    data_lock.hold(str(tmp_path)).release()


def test_an_emulator_holds_its_data_directory_until_it_stops(tmp_path):
    settings = Settings(host="127.0.0.1", port=0, keep_resources=True, data_dir=str(tmp_path))
    first = create_app(settings)
    with pytest.raises(data_lock.DataDirectoryInUse, match=str(tmp_path.resolve())):
        create_app(settings)
    first.stop()
    create_app(settings).stop()


@pytest.mark.docker
def test_serve_refuses_a_data_directory_a_running_emulator_holds(start, tmp_path):
    """The QA's case: `ecs-emulator serve` twice on one ECS_EMULATOR_DATA_DIR. The second says
    which directory and which pid, and exits 1 without touching the first's state; once the
    first is killed (-9), the directory is free."""
    env = {"ECS_EMULATOR_PERSIST": "1", "ECS_EMULATOR_DATA_DIR": str(tmp_path)}
    first_port, second_port = free_port(), free_port()
    first = start([str(BIN / "ecs-emulator"), "serve", "--port", str(first_port)], first_port,
                  **env)
    first.wait_until_healthy()
    second = subprocess.run([str(BIN / "ecs-emulator"), "serve", "--port", str(second_port)],
                            env=clean_env(**env), capture_output=True, text=True, timeout=120)
    assert second.returncode == 1, second.stderr
    assert "Traceback" not in second.stderr
    assert str(tmp_path.resolve()) in second.stderr
    assert f"pid {first.process.pid}" in second.stderr
    first.stop(signal.SIGKILL)
    third_port = free_port()  # (picked now: the second's may have been taken since)
    third = start([str(BIN / "ecs-emulator"), "serve", "--port", str(third_port)], third_port,
                  **env)
    third.wait_until_healthy()


def _line_within(stream, seconds: float) -> str:
    """The stream's next line, or a failure if none comes within `seconds` (a child that hangs
    before it prints must not hang the test)."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        assert selector.select(timeout=seconds), f"no line within {seconds} s"
    return stream.readline().strip()


def test_a_symlinked_lock_file_is_refused_and_its_target_left_whole(tmp_path):
    """Our pid is written into .lock: a link planted there must not have us overwrite what it
    points at."""
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    data = tmp_path / "data"
    data.mkdir()
    (data / data_lock.LOCK_FILE).symlink_to(victim)
    with pytest.raises(data_lock.DataDirectoryRefused, match="symbolic link"):
        data_lock.hold(str(data))
    assert victim.read_text() == "precious\n"


def test_a_lock_file_of_another_user_or_not_a_file_is_refused(tmp_path):
    lock = tmp_path / data_lock.LOCK_FILE
    lock.mkdir()  # a directory where the file should be
    with pytest.raises(data_lock.DataDirectoryRefused):
        data_lock.hold(str(tmp_path))
    lock.rmdir()
    lock.write_text("")
    if os.geteuid() == 0:  # (only root can give a file away)
        os.chown(lock, 65534, 65534)
        with pytest.raises(data_lock.DataDirectoryRefused, match="not a regular file of uid"):
            data_lock.hold(str(tmp_path))
        os.chown(lock, 0, 0)
    data_lock.hold(str(tmp_path)).release()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_a_directory_of_another_user_that_others_may_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chown(shared, 65534, 65534)
    shared.chmod(0o777)
    with pytest.raises(data_lock.DataDirectoryRefused, match="uid 65534 and others may write"):
        data_lock.hold(str(shared))
    assert not (shared / data_lock.LOCK_FILE).exists()
    shared.chmod(0o755)  # another user's, but only theirs to write: nobody can plant a link
    data_lock.hold(str(shared)).release()


def test_a_holders_file_of_any_bytes_is_named_on_one_line(tmp_path):
    (tmp_path / data_lock.LOCK_FILE).write_bytes(b"\xff\xfe\x1b[2J 77\n\xc3\n")
    with open(tmp_path / data_lock.LOCK_FILE, "rb") as holder:
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(data_lock.DataDirectoryInUse) as refused:
            data_lock.hold(str(tmp_path))
    message = str(refused.value)
    assert "pid ???[2J" in message and "\n" not in message and "\x1b" not in message


def test_a_filesystem_without_flock_starts_without_the_lock_and_says_so(tmp_path, monkeypatch,
                                                                         caplog):
    """NFS mounted nolock answers flock with ENOLCK (some CIFS mounts: EOPNOTSUPP)."""
    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, os.strerror(errno.ENOLCK))

    monkeypatch.setattr(data_lock.fcntl, "flock", no_flock)
    with caplog.at_level("WARNING", logger=data_lock.__name__):
        data_lock.hold(str(tmp_path)).release()
    assert "without flock" in caplog.text and str(tmp_path.resolve()) in caplog.text


def test_another_failure_of_flock_is_one_line(tmp_path, monkeypatch):
    def failing(fd, operation):
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(data_lock.fcntl, "flock", failing)
    with pytest.raises(data_lock.DataDirectoryRefused, match="cannot lock its .lock"):
        data_lock.hold(str(tmp_path))


@pytest.mark.skipif(os.geteuid() != 0, reason="chattr +i needs root")
def test_serve_says_in_one_line_why_a_lock_file_it_cannot_open_is_refused(tmp_path):
    """The container image's emulator runs as root: its .lock (0600) on a bind-mounted
    directory is not another user's to open. Here root itself is refused, by an immutable
    file (the venv's python is under /root: no other user could run the emulator); `serve`
    says so in one line and exits 1."""
    lock = tmp_path / data_lock.LOCK_FILE
    lock.write_text("1\n")
    if subprocess.run(["chattr", "+i", str(lock)], capture_output=True).returncode != 0:
        pytest.skip("this filesystem has no immutable files")
    try:
        port = free_port()
        served = subprocess.run([str(BIN / "ecs-emulator"), "serve", "--port", str(port)],
                                env=clean_env(ECS_EMULATOR_DATA_DIR=str(tmp_path)),
                                capture_output=True, text=True, timeout=120)
    finally:
        subprocess.run(["chattr", "-i", str(lock)], check=True)
    assert served.returncode == 1, served.stderr
    assert "Traceback" not in served.stderr and len(served.stderr.strip().splitlines()) == 1
    assert "cannot open its .lock" in served.stderr and str(tmp_path) in served.stderr


def test_a_failing_closer_neither_skips_the_others_nor_keeps_the_directory(tmp_path, caplog):
    settings = Settings(host="127.0.0.1", port=0, keep_resources=True, data_dir=str(tmp_path))
    emulator = create_app(settings)
    ran = []

    def failing():
        raise RuntimeError("a closer failed")

    emulator.closers[:0] = [failing]
    emulator.closers.append(lambda: ran.append("after"))
    emulator.stop()
    assert ran == ["after"] and "a closer failed" in caplog.text
    create_app(settings).stop()  # the directory was let go of

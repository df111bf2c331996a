"""One emulator per data directory (emulator/data_lock.py): a second refuses to start on the
directory a live one holds, naming it and the holder's pid; the lock goes with its holder, a
SIGKILL included, and with a stopped emulator."""

from __future__ import annotations

import os
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
        assert child.stdout.readline().strip() == "held"
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
    third = start([str(BIN / "ecs-emulator"), "serve", "--port", str(second_port)], second_port,
                  **env)
    third.wait_until_healthy()

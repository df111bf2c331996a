"""Two test sessions on one machine each start extra dockerds (tests/extra_engines.py): their
names, sockets and indexes (bridge, subnets, TLS port) must not meet, and a session killed
mid-run must not hold an index, nor leave its engine, for good. The removal runs as root on
what a claim names: a claim not of this user's making, nor of this pid namespace, is never
acted on. On a claims directory of the test's own, with the engines' removal and the host's
bridges stood in for."""

import json
import subprocess

import pytest

from tests import extra_engines


@pytest.fixture
def claims(tmp_path, monkeypatch):
    monkeypatch.setattr(extra_engines, "CLAIMS", tmp_path / "claims")
    monkeypatch.setattr(extra_engines, "_bridge_exists", lambda index: False)
    removed = []
    monkeypatch.setattr(extra_engines, "_remove_engine",
                        lambda name, index: removed.append((name, index)))
    return removed


def dead_claim(index: int, **changes) -> dict:
    """A claim of a session that ended, at index-`index`, as ExtraEngine makes it; `changes`
    overwrite its fields."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    holder = {"name": f"engine-b-{dead.pid}", "pid": dead.pid, "start": "1",
              **extra_engines._where(), **changes}
    extra_engines.CLAIMS.mkdir(parents=True, exist_ok=True)
    (extra_engines.CLAIMS / f"index-{index}").write_text(json.dumps(holder))
    return holder


def test_two_sessions_wanting_one_engine_get_their_own_names_and_indexes(claims, monkeypatch):
    first = extra_engines.ExtraEngine("engine-b", 9)
    monkeypatch.setattr(extra_engines, "_pid", lambda: 1)  # another session, alive
    second = extra_engines.ExtraEngine("engine-b", 9)
    assert first.name != second.name and first.host != second.host
    indexes = [extra_engines.claim_index(e.name, 9) for e in (first, second)]
    assert indexes[0] == 9 and indexes[1] not in (9, None)
    extra_engines.release_index(indexes[0], first.name)
    assert extra_engines.claim_index("engine-c-1", 9) == 9  # given back, free again
    assert claims == []


def test_indexes_older_checkouts_use_without_a_claim_are_taken_only_once_the_rest_are(claims):
    # Sessions of older checkouts start engines at 1, 2, 3, 6 and 7 unannounced.
    got = [extra_engines.claim_index(f"engine-{n}-1", 2) for n in range(4)]
    assert got[:3] == [8, 9, 10] and got[3] == 2


def test_a_dead_sessions_claim_is_taken_back_and_its_engine_removed(claims, monkeypatch):
    held = []  # who holds index 9 while the dead engine is removed
    monkeypatch.setattr(extra_engines, "_remove_engine", lambda name, index: held.append(
        (name, index, extra_engines._holder(extra_engines.CLAIMS / "index-9").get("name"))))
    holder = dead_claim(9)
    assert extra_engines.claim_index("engine-b-mine", 9) == 9
    assert held == [(holder["name"], 9, "engine-b-mine")]
    assert [p.name for p in extra_engines.CLAIMS.iterdir()] == ["index-9"]


def test_a_removal_that_times_out_gives_the_dead_claim_back_to_try_again(claims, monkeypatch):
    def too_slow(name, index):
        raise subprocess.TimeoutExpired("extra-dockerd.sh", 120)

    monkeypatch.setattr(extra_engines, "_remove_engine", too_slow)
    holder = dead_claim(9)
    assert extra_engines.claim_index("engine-b-mine", 9) != 9
    assert extra_engines._holder(extra_engines.CLAIMS / "index-9") == holder
    assert not list(extra_engines.CLAIMS.glob(".dead-*"))


@pytest.mark.parametrize("changes", [
    {"name": "../../../etc-{pid}"},  # a path: the removal would rm -rf it
    {"name": "engine-b-4242"},  # a name whose pid is not the claim's
    {"pidns": 1},  # another pid namespace: its pid says nothing here
    {"host": "elsewhere"},
])
def test_a_claim_not_as_extra_engine_makes_them_here_is_never_acted_on(claims, changes):
    holder = dead_claim(9)
    holder = dead_claim(9, **{k: (v.format(pid=holder["pid"]) if isinstance(v, str) else v)
                              for k, v in changes.items()})
    assert extra_engines.claim_index("engine-b-mine", 9) != 9
    assert claims == []
    assert extra_engines._holder(extra_engines.CLAIMS / "index-9") == holder


def test_a_claims_directory_others_may_write_to_is_refused(claims):
    dead_claim(9)
    extra_engines.CLAIMS.chmod(0o777)
    with pytest.raises(RuntimeError, match="refusing"):
        extra_engines.claim_index("engine-b-mine", 9)
    assert claims == []


def test_an_index_whose_bridge_someone_uses_without_a_claim_is_passed_over(claims, monkeypatch):
    monkeypatch.setattr(extra_engines, "_bridge_exists", lambda index: index == 8)
    assert extra_engines.claim_index("engine-b-mine", 8) != 8
    assert not (extra_engines.CLAIMS / "index-8").exists()


SCRIPT = extra_engines.__file__.rsplit("/", 2)[0] + "/scripts/extra-dockerd.sh"


def extra_dockerd(root, *args) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                               "EXTRA_DOCKERD_ROOT": str(root)})


@pytest.fixture
def victim():
    """A process a planted pid file would name."""
    process = subprocess.Popen(["sleep", "600"])
    yield process
    process.kill()
    process.wait()


def plant(root, pid) -> None:
    (root / "b").mkdir(parents=True, exist_ok=True)
    (root / "b" / "dockerd.pid").write_text(f"{pid}\n")


@pytest.mark.parametrize("how", ["others-write", "symlink", "not-a-directory",
                                 pytest.param("another-user", marks=pytest.mark.skipif(
                                     __import__("os").geteuid() != 0, reason="chown: root"))])
def test_extra_dockerd_refuses_a_root_not_its_own(tmp_path, victim, how):
    """scripts/extra-dockerd.sh runs as root on what is under its root (in /tmp by default):
    a root another user made, or may write to, would choose the pid it kills."""
    import os

    root = tmp_path / "root"
    plant(root, victim.pid)
    if how == "others-write":
        root.chmod(0o777)
    elif how == "another-user":
        os.chown(root, 65534, 65534)
    elif how == "symlink":
        root.rename(tmp_path / "real")
        root.symlink_to(tmp_path / "real")
    elif how == "not-a-directory":
        (root / "b" / "dockerd.pid").unlink()
        (root / "b").rmdir()
        (root / "b").write_text("")
    for command in ("stop", "freeze", "remove"):
        done = extra_dockerd(root, command, "b")
        assert done.returncode == 3, (command, done.stderr)
        assert "refusing it" in done.stderr
    assert victim.poll() is None
    assert (tmp_path / "real" if how == "symlink" else root).exists()


@pytest.mark.parametrize("pid", ["-1", "1", "0", "abc", "12 34", ""])
def test_extra_dockerd_kills_only_a_plain_process_id(tmp_path, pid):
    plant(tmp_path, pid)
    for command in ("stop", "freeze", "thaw"):
        done = extra_dockerd(tmp_path, command, "b")
        assert done.returncode == 3 and "holds no process id" in done.stderr, (command, done)


def test_extra_dockerd_stops_the_process_its_own_pid_file_names(tmp_path, victim):
    plant(tmp_path, victim.pid)
    assert extra_dockerd(tmp_path, "stop", "b").returncode == 0
    assert victim.wait(timeout=30) is not None
    assert not (tmp_path / "b" / "dockerd.pid").exists()


def test_extra_dockerd_refuses_a_name_that_is_a_path(tmp_path):
    for name in ("..", "a/b", "."):
        assert extra_dockerd(tmp_path, "stop", name).returncode == 2

"""Two test sessions on one machine each start extra dockerds (tests/extra_engines.py): their
names, sockets and indexes (bridge, subnets, TLS port) must not meet, and a session killed
mid-run must not hold an index, nor leave its engine, for good. On a claims directory of the
test's own, with the engines' removal and the host's bridges stood in for."""

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


def test_two_sessions_wanting_one_engine_get_their_own_names_and_indexes(claims, monkeypatch):
    first = extra_engines.ExtraEngine("engine-b", 2)
    monkeypatch.setattr(extra_engines.os, "getpid", lambda: 1)  # another session, alive
    second = extra_engines.ExtraEngine("engine-b", 2)
    assert first.name != second.name and first.host != second.host
    indexes = [extra_engines.claim_index(e.name, 2) for e in (first, second)]
    assert indexes[0] == 2 and indexes[1] not in (2, None)
    extra_engines.release_index(indexes[0], first.name)
    assert extra_engines.claim_index("engine-c-1", 2) == 2  # given back, free again
    assert claims == []


def test_a_dead_sessions_claim_is_taken_back_and_its_engine_removed(claims):
    dead = subprocess.Popen(["true"])
    dead.wait()
    extra_engines.CLAIMS.mkdir(parents=True)
    (extra_engines.CLAIMS / "index-2").write_text(json.dumps(
        {"name": f"engine-b-{dead.pid}", "pid": dead.pid, "start": "1"}))
    assert extra_engines.claim_index("engine-b-mine", 2) == 2
    assert claims == [(f"engine-b-{dead.pid}", 2)]


def test_an_index_whose_bridge_someone_uses_without_a_claim_is_passed_over(claims, monkeypatch):
    monkeypatch.setattr(extra_engines, "_bridge_exists", lambda index: index == 2)
    assert extra_engines.claim_index("engine-b-mine", 2) != 2
    assert not (extra_engines.CLAIMS / "index-2").exists()

"""api_shapes/model_cache.py: a model is read from its compact copy only while the copy is of the
same model file; a stale, torn or unwritable copy is passed over and the file read instead; each
model file (each virtualenv's botocore) keeps a copy of its own."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from api_shapes import model_cache, model_files
from api_shapes.service import ServiceShapes


def model(version: str) -> dict:
    return {
        "version": "2.0",
        "documentation": "<p>the service</p>",
        "metadata": {"protocol": "json", "targetPrefix": f"Svc_{version}"},
        "operations": {"Go": {"name": "Go", "input": {"shape": "GoRequest"},
                              "documentation": "<p>go</p>", "documentationUrl": "https://x"}},
        "shapes": {
            "GoRequest": {"type": "structure", "documentation": "<p>a request</p>", "members": {
                # A member may be called "documentation": it is data, not documentation.
                "documentation": {"shape": "Text", "documentation": "<p>its text</p>"},
                "names": {"shape": "Names"},
            }},
            "Names": {"type": "list", "member": {"shape": "Text", "documentation": "<p>x</p>"}},
            "Text": {"type": "string"},
        },
    }


@pytest.fixture
def botocore_data(tmp_path, monkeypatch):
    """A botocore data directory of one service, `svc`, and an empty cache directory."""
    root = tmp_path / "data"
    folder = root / "svc" / "2020-01-01"
    folder.mkdir(parents=True)
    monkeypatch.setattr(model_files, "_search_paths", lambda: [str(root)])
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(tmp_path / "cache"))
    path = folder / "service-2.json.gz"

    def write(version: str, mtime_ns: int) -> None:
        path.write_bytes(gzip.compress(json.dumps(model(version)).encode()))
        os.utime(path, ns=(mtime_ns, mtime_ns))

    write("one", 1_000_000_000)
    return write


def copy_path(service: str) -> str:
    path, _ = model_files._locate(service)
    return model_cache._path(service, model_cache.key_of(path))


def test_the_second_load_reads_the_copy_and_both_leave_documentation_out(botocore_data,
                                                                          monkeypatch):
    first = model_files.load_model("svc")
    assert os.path.isfile(copy_path("svc"))
    monkeypatch.setattr(model_files, "_read", lambda path: pytest.fail("read the JSON again"))
    second = model_files.load_model("svc")
    assert first == second
    assert "documentation" not in second
    assert set(second["operations"]["Go"]) == {"name", "input"}
    request = second["shapes"]["GoRequest"]
    assert "documentation" not in request
    assert request["members"]["documentation"] == {"shape": "Text"}
    assert second["shapes"]["Names"]["member"] == {"shape": "Text"}
    assert ServiceShapes(second).parse_input("Go", {"documentation": "a", "names": ["b"]}) == {
        "documentation": "a", "names": ["b"]}


def test_a_changed_model_file_is_read_again_and_the_copy_rewritten(botocore_data, monkeypatch):
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_one"
    botocore_data("two", 2_000_000_000)  # botocore upgraded: another file in the same place
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_two"
    monkeypatch.setattr(model_files, "_read", lambda path: pytest.fail("read the JSON again"))
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_two"


def test_a_copy_from_another_interpreter_is_not_used(botocore_data):
    model_files.load_model("svc")
    path, _ = model_files._locate("svc")
    key = model_cache.key_of(path)
    other = (key[0], (2, 7), *key[2:])
    assert model_cache.read("svc", other) is None
    assert model_cache.read("svc", key) is not None


def test_two_virtualenvs_keep_a_copy_each(botocore_data, tmp_path, monkeypatch):
    """Emulators of two virtualenvs started in turn each read their own copy, not the JSON."""
    other = tmp_path / "other-venv" / "svc" / "2020-01-01"
    other.mkdir(parents=True)
    (other / "service-2.json.gz").write_bytes(gzip.compress(json.dumps(model("two")).encode()))
    roots = {"one": [str(tmp_path / "data")], "two": [str(tmp_path / "other-venv")]}
    for venv in ("one", "two"):
        monkeypatch.setattr(model_files, "_search_paths", lambda venv=venv: roots[venv])
        assert model_files.load_model("svc")["metadata"]["targetPrefix"] == f"Svc_{venv}"
    monkeypatch.setattr(model_files, "_read", lambda path: pytest.fail("read the JSON again"))
    for venv in ("one", "two", "one"):
        monkeypatch.setattr(model_files, "_search_paths", lambda venv=venv: roots[venv])
        assert model_files.load_model("svc")["metadata"]["targetPrefix"] == f"Svc_{venv}"


@pytest.mark.parametrize("contents", [b"", b"\x00garbage", b"not marshal at all" * 10])
def test_a_torn_copy_is_passed_over_and_replaced(botocore_data, contents):
    os.makedirs(model_cache.CACHE_DIR)
    with open(copy_path("svc"), "wb") as file:
        file.write(contents)
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_one"
    path, _ = model_files._locate("svc")
    assert model_cache.read("svc", model_cache.key_of(path)) is not None


def test_an_unwritable_cache_directory_only_costs_the_copy(botocore_data, tmp_path,
                                                          monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(blocker / "cache"))  # cannot be made
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_one"
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_one"


def test_nothing_is_made_in_another_users_home(botocore_data, tmp_path, monkeypatch):
    """Root run with `sudo -E` keeps the user's HOME: no root-owned ~/.cache is made there."""
    home = tmp_path / "home"
    home.mkdir()
    os.chown(home, 65534, 65534)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(home / ".cache" / "ecs-emulator"))
    assert model_files.load_model("svc")["metadata"]["targetPrefix"] == "Svc_one"
    assert not (home / ".cache").exists()


def test_a_write_removes_copies_no_start_wrote_for_a_month_and_the_old_single_copy(
        botocore_data, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    gone, recent, other = cache / "svc-0badc0de.marshal", cache / "svc-00c0ffee.marshal", \
        cache / "ecs-0badc0de.marshal"
    for path in (gone, recent, other, cache / "svc.marshal"):
        path.write_bytes(b"x")
    month_ago = os.path.getmtime(gone) - model_cache.FORGET_AFTER_S - 60
    os.utime(gone, (month_ago, month_ago))
    os.utime(other, (month_ago, month_ago))
    model_files.load_model("svc")  # writes svc's copy
    left = {path.name for path in cache.iterdir()}
    assert os.path.basename(copy_path("svc")) in left
    assert recent.name in left and other.name in left  # another service's is its own write's
    assert gone.name not in left and "svc.marshal" not in left

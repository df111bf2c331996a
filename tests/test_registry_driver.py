"""The storage driver suite: one set of tests every registry storage driver must pass (as
distribution runs its storage driver suite over each driver), run over the filesystem driver and
the in-memory one; then what only a driver with a capacity (a full disk) shows."""

from __future__ import annotations

import os
import threading

import pytest

from emulator.registry.driver import PathNotFound
from emulator.registry.driver.filesystem import FilesystemDriver
from emulator.registry.driver.inmemory import InMemoryDriver
from emulator.registry.errors import StorageFull


@pytest.fixture(params=["filesystem", "inmemory"])
def driver(request, tmp_path):
    if request.param == "filesystem":
        return FilesystemDriver(tmp_path / "root")
    return InMemoryDriver()


def test_content_round_trip_and_stat(driver):
    driver.put_content("a/b/c", b"hello")
    assert driver.get_content("a/b/c") == b"hello"
    info = driver.stat("a/b/c")
    assert (info.path, info.size, info.is_dir) == ("a/b/c", 5, False)
    assert driver.stat("a/b").is_dir and driver.stat("a").is_dir
    driver.put_content("a/b/c", b"bye")
    assert driver.get_content("a/b/c") == b"bye"


def test_missing_paths_raise_path_not_found(driver):
    driver.put_content("present/file", b"x")
    for call in (lambda: driver.get_content("absent"), lambda: driver.stat("present/nope"),
                 lambda: driver.reader("absent/file"), lambda: driver.list("absent"),
                 lambda: driver.delete("absent"), lambda: driver.move("absent", "elsewhere"),
                 lambda: list(driver.walk("absent"))):
        with pytest.raises(PathNotFound):
            call()


def test_reader_streams_from_an_offset(driver):
    data = bytes(range(256)) * 1000
    driver.put_content("blob", data)
    with driver.reader("blob", offset=1000) as stream:
        first = stream.read(24)
        stream.seek(250_000)
        tail = stream.read()
    assert first == data[1000:1024] and tail == data[250_000:]


def test_an_open_reader_keeps_its_bytes_after_delete_and_replace(driver):
    driver.put_content("blob", b"original")
    with driver.reader("blob") as kept:
        driver.delete("blob")
        driver.put_content("blob", b"replaced")
        assert kept.read() == b"original"


def test_writer_appends_commits_and_cancels(driver):
    with driver.writer("upload/data") as out:
        out.write(b"abc")
        out.write(b"def")
    assert (out.size, driver.get_content("upload/data")) == (6, b"abcdef")
    appending = driver.writer("upload/data", append=True)
    assert appending.size == 6
    appending.write(b"ghi")
    appending.cancel()  # back to what it held before
    assert driver.get_content("upload/data") == b"abcdef"
    with pytest.raises(RuntimeError):
        with driver.writer("upload/data", append=True) as failing:
            failing.write(b"jkl")
            raise RuntimeError("the client went away")
    assert driver.get_content("upload/data") == b"abcdef"
    fresh = driver.writer("upload/other")
    fresh.write(b"partial")
    fresh.cancel()  # a file the writer created is gone
    assert driver.list("upload") == ["upload/data"]


def test_list_move_and_delete_keep_directories_implicit(driver):
    for path in ("r/x/1", "r/x/2", "r/y/1", "s"):
        driver.put_content(path, path.encode())
    assert driver.list("r") == ["r/x", "r/y"] and driver.list("r/x") == ["r/x/1", "r/x/2"]
    driver.put_content("r/z/target", b"old")
    driver.move("r/y/1", "r/z/target")
    assert driver.get_content("r/z/target") == b"r/y/1"
    with pytest.raises(PathNotFound):  # emptied by the move: gone
        driver.stat("r/y")
    driver.delete("r/x")
    assert driver.list("r") == ["r/z"]
    driver.delete("r/z/target")
    with pytest.raises(PathNotFound):
        driver.stat("r")
    assert driver.get_content("s") == b"s"


def test_walk_yields_every_file_depth_first_in_path_order(driver):
    for path in ("t/b/2", "t/a", "t/b/1/deep", "t/c", "u/other"):
        driver.put_content(path, b"12")
    walked = list(driver.walk("t"))
    assert [info.path for info in walked] == ["t/a", "t/b/1/deep", "t/b/2", "t/c"]
    assert {info.size for info in walked} == {2} and not any(info.is_dir for info in walked)


@pytest.mark.parametrize("path", ["", "/etc/passwd", "a/../../etc", "a//b", "..", "a/./b",
                                  "a\\b", "a/b/"])
def test_paths_that_could_leave_the_root_are_refused(driver, path):
    with pytest.raises(ValueError):
        driver.put_content(path, b"x")


def test_concurrent_writers_of_different_files(driver):
    def write(index: int) -> None:
        with driver.writer(f"uploads/{index}/data") as out:
            for _ in range(50):
                out.write(bytes([index]) * 1000)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(8):
        assert driver.get_content(f"uploads/{index}/data") == bytes([index]) * 50_000


def test_a_full_store_refuses_the_write_and_undoes_it():
    driver = InMemoryDriver(capacity=1000)
    driver.put_content("kept", b"k" * 400)
    with pytest.raises(StorageFull) as full:
        with driver.writer("kept", append=True) as out:
            out.write(b"a" * 500)
            out.write(b"b" * 500)  # past the capacity
    assert "storage is full" in full.value.message and "1000 bytes" in full.value.message
    assert driver.get_content("kept") == b"k" * 400 and driver.used() == 400
    with pytest.raises(StorageFull):
        driver.put_content("new", b"n" * 700)
    assert driver.used() == 400
    with pytest.raises(PathNotFound):
        driver.stat("new")


def test_the_filesystem_driver_reads_a_directory_laid_out_before_it(tmp_path):
    """Data directories of earlier versions: plain files, and empty directories left behind."""
    (tmp_path / "repositories" / "a" / "_manifests" / "tags").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / "ab").mkdir(parents=True)
    (tmp_path / "blobs" / "sha256" / "ab" / "ab12").write_bytes(b"layer")
    driver = FilesystemDriver(tmp_path)
    assert driver.stat("repositories/a/_manifests").is_dir
    assert driver.list("repositories/a/_manifests/tags") == []
    assert driver.get_content("blobs/sha256/ab/ab12") == b"layer"
    assert os.listdir(tmp_path / "repositories" / "a" / "_manifests") == ["tags"]


def test_writes_and_deletes_racing_in_one_directory(driver):
    """A delete prunes the directories it leaves empty; a write into one of them at that moment
    still lands (the filesystem driver makes the directory again)."""
    errors = []

    def churn(index: int) -> None:
        try:
            for round_ in range(200):
                path = f"tmp/{index}-{round_}"
                driver.put_content(path, b"x")
                driver.move(path, f"moved/{index}/{round_}")
                driver.delete(f"moved/{index}/{round_}")
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pytest.raises(PathNotFound):
        driver.stat("tmp")

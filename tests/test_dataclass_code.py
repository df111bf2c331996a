"""emulator/dataclass_code.py: within cached(), dataclasses' methods come from the last start's
compiled code and behave as freshly compiled ones; what is new is compiled and kept, but only by
a start that completes; a torn or foreign copy, one another user could have written, or one that
holds anything but code is passed over; dataclasses is left as it was; `ecs-emulator serve`
keeps a copy, and a failed serve start leaves it as it was."""

from __future__ import annotations

import dataclasses
import contextlib
import glob
import marshal
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from api_shapes import model_cache
from emulator import dataclass_code
from tests.test_cli import BIN, clean_env, free_port, start  # noqa: F401  (start: a fixture)

OTHER_UID = 65534  # nobody


def make_classes():
    """A few dataclasses of the kinds the emulator has (frozen, ordered, defaults, factories)."""

    @dataclasses.dataclass(frozen=True)
    class Port:
        number: int
        protocol: str = "tcp"

    @dataclasses.dataclass(order=True)
    class Task:
        arn: str
        ports: list = dataclasses.field(default_factory=list)
        cpu: int = dataclasses.field(default=256, compare=False)

    return Port, Task


def behaves(Port, Task) -> None:
    port = Port(80)
    assert port == Port(80, "tcp") and port != Port(80, "udp")
    assert repr(port).endswith(".Port(number=80, protocol='tcp')")
    assert hash(port) == hash(Port(80))
    with pytest.raises(dataclasses.FrozenInstanceError):
        port.number = 81
    first, second = Task("a"), Task("b", [port], cpu=512)
    assert first.ports == [] and first.ports is not Task("a").ports
    assert first < second and Task("a", cpu=1) == Task("a", cpu=2)
    with pytest.raises(TypeError):
        Task()


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o700)
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(directory))
    return directory


@contextlib.contextmanager
def a_start():
    """cached() as a start that gets as far as its server uses it."""
    with dataclass_code.cached() as codes:
        yield codes
        codes.complete = True


def the_copy(cache_dir) -> Path:
    [path] = glob.glob(str(cache_dir / "dataclass-code-*.marshal"))
    return Path(path)


@pytest.fixture
def compiles(monkeypatch):
    """The texts dataclass_code compiles (rather than taking from the copy)."""
    texts = []

    def counting(text, *args, **kwargs):
        texts.append(text)
        return compile(text, *args, **kwargs)

    monkeypatch.setattr(dataclass_code, "compile", counting, raising=False)
    return texts


def test_the_second_start_compiles_nothing_and_its_classes_behave_the_same(cache_dir, compiles):
    with a_start():
        behaves(*make_classes())
    first = len(compiles)
    assert first >= 8  # __init__, __repr__, __eq__, __setattr__... of both classes
    assert len(glob.glob(str(cache_dir / "dataclass-code-*.marshal"))) == 1
    with a_start():
        behaves(*make_classes())
    assert len(compiles) == first


def test_what_is_new_is_compiled_and_what_went_unused_is_dropped(cache_dir, compiles):
    with a_start():
        make_classes()

    with a_start():
        @dataclasses.dataclass
        class Other:
            name: str
            size: int = 0

    assert Other("x") == Other("x", 0) and repr(Other("y", 2)).endswith(".Other(name='y', size=2)")
    compiled = len(compiles)
    with a_start():
        behaves(*make_classes())  # the copy kept only Other's texts: these are compiled again
    assert len(compiles) > compiled


@pytest.mark.parametrize("content", [b"", b"\x00torn", None])
def test_a_torn_or_foreign_copy_is_passed_over_and_written_again(cache_dir, compiles, content,
                                                                 monkeypatch):
    with a_start():
        make_classes()
    path = the_copy(cache_dir)
    if content is None:  # made by an earlier format of ours: its key differs
        key = dataclass_code._key()
        monkeypatch.setattr(dataclass_code, "_key", lambda: (key[0] + 1,) + key[1:])
        # (another format's copy lives under the same name: it is replaced)
        assert model_cache._path("dataclass-code", dataclass_code._key()) == str(path)
    else:
        path.write_bytes(content)
    before = len(compiles)
    with a_start():
        behaves(*make_classes())
    after = len(compiles)
    assert after > before
    with a_start():
        behaves(*make_classes())
    assert len(compiles) == after  # the copy written again is read


def test_two_interpreters_of_one_installation_keep_a_copy_each(cache_dir, compiles,
                                                               monkeypatch):
    """3.12.1 and 3.12.3 (or -O) of one checkout: each start reads its own copy."""
    key = dataclass_code._key()
    other = (key[0], ("3.99.1 (another build)", key[1][1]), key[2])
    counts = []
    for _ in range(2):
        for interpreter in (key, other):
            monkeypatch.setattr(dataclass_code, "_key", lambda interpreter=interpreter: interpreter)
            with a_start():
                behaves(*make_classes())
        counts.append(len(compiles))
    assert counts[0] == counts[1]  # the second round compiled nothing
    assert len(glob.glob(str(cache_dir / "dataclass-code-*.marshal"))) == 2


def test_a_start_that_does_not_complete_leaves_the_copy_as_it_was(cache_dir, compiles):
    """A `serve` that fails early (a port taken) used a few texts: the next start must still
    find all the others."""
    with dataclass_code.cached():  # a first start that fails: nothing written
        make_classes()
    assert not glob.glob(str(cache_dir / "dataclass-code-*.marshal"))
    with a_start():
        behaves(*make_classes())
    written = the_copy(cache_dir).read_bytes()
    with dataclass_code.cached():  # uses only some texts, compiles one more
        @dataclasses.dataclass
        class Other:
            name: str

    assert the_copy(cache_dir).read_bytes() == written
    before = len(compiles)
    with a_start():
        behaves(*make_classes())
    assert len(compiles) == before


def test_the_same_text_twice_in_one_start_is_compiled_once(cache_dir, compiles):
    with a_start():
        make_classes()
    once = len(compiles)
    compiles.clear()
    for path in cache_dir.iterdir():
        path.unlink()
    with a_start():
        make_classes()
        make_classes()  # the same classes again: the same texts
    assert len(compiles) == once


def planted(cache_dir, how: str) -> Path:
    """The copy of a complete start, then made as another user could have made it."""
    with a_start():
        make_classes()
    path = the_copy(cache_dir)
    if how == "file of another user":
        os.chown(path, OTHER_UID, OTHER_UID)
    elif how == "group-writable file":
        path.chmod(0o620)
    elif how == "world-writable file":
        path.chmod(0o602)
    elif how == "group-writable directory":
        cache_dir.chmod(0o770)
    elif how == "directory of another user":
        os.chown(cache_dir, OTHER_UID, OTHER_UID)
    return path


def test_a_copy_another_user_could_have_written_is_not_run(cache_dir, compiles, monkeypatch):
    """The code in the copy is run: a copy someone else could have planted is passed over, as
    under `sudo -E` with the user's HOME. Here, a copy whose code would be caught running."""
    for how in ("file of another user", "group-writable file", "world-writable file",
                "group-writable directory", "directory of another user"):
        cache_dir.chmod(0o700)
        os.chown(cache_dir, os.geteuid(), os.getegid())
        for path in cache_dir.iterdir():
            path.unlink()
        path = planted(cache_dir, how)
        key, codes = marshal.loads(path.read_bytes())
        trap = compile("raise AssertionError('planted code ran')", "<planted>", "exec")
        stat = path.stat()
        path.write_bytes(marshal.dumps((key, dict.fromkeys(codes, trap))))
        os.chown(path, stat.st_uid, stat.st_gid)
        path.chmod(stat.st_mode & 0o7777)
        before = len(compiles)
        with a_start():
            behaves(*make_classes())  # (the trap would raise)
        assert len(compiles) > before, how
        if how == "directory of another user":  # not written there either
            assert marshal.loads(path.read_bytes())[1] == dict.fromkeys(codes, trap)
        else:  # written again, ours alone (a group-writable directory of ours narrowed)
            assert cache_dir.stat().st_mode & 0o022 == 0
            assert the_copy(cache_dir).stat().st_uid == os.geteuid()
            before = len(compiles)
            with a_start():
                behaves(*make_classes())
            assert len(compiles) == before, how


def test_a_copy_of_anything_but_code_is_passed_over(cache_dir, compiles):
    with a_start():
        make_classes()
    path = the_copy(cache_dir)
    key, codes = marshal.loads(path.read_bytes())
    first = next(iter(codes))
    for stored in ({**codes, first: "x = 1"}, {**codes, first: None}, [*codes.values()],
                   {**codes, 1: codes[first]}):
        path.write_bytes(marshal.dumps((key, stored)))
        before = len(compiles)
        with dataclass_code.cached():
            behaves(*make_classes())
        assert len(compiles) > before, stored


def test_a_call_unlike_dataclasses_goes_to_the_builtin_exec(compiles):
    codes = dataclass_code._Codes({})
    namespace = {}
    codes.exec("x = 1", {}, namespace)  # dataclasses' call: compiled and kept
    codes.exec(compile("y = 2", "<string>", "exec"), {}, namespace)  # code: as it is
    if sys.version_info >= (3, 11):  # (exec's first keyword)
        codes.exec("z = 3", {}, namespace, closure=None)  # a keyword: the builtin's, as given
        assert namespace.pop("z") == 3
    assert namespace == {"x": 1, "y": 2}
    assert compiles == ["x = 1"] and list(codes.used) == ["x = 1"]


def test_dataclasses_is_left_as_it_was_even_when_the_start_fails(cache_dir):
    with pytest.raises(ValueError):
        with dataclass_code.cached():
            assert "exec" in vars(dataclasses)
            raise ValueError("start-up failed")
    assert "exec" not in vars(dataclasses)
    with dataclass_code.cached():
        pass
    assert "exec" not in vars(dataclasses)


def test_an_unwritable_cache_directory_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(blocker / "cache"))
    with a_start():
        behaves(*make_classes())


def test_serve_keeps_a_copy_and_a_start_from_it_answers(start, tmp_path):  # noqa: F811
    """Real starts with a home of their own: the first writes the copy; one that fails (its port
    taken) leaves it as it is; the next reads it (and leaves it as it is too: it compiled
    nothing) and answers ECS calls."""
    copies = tmp_path / ".cache" / "ecs-emulator" / "api-shapes"
    made = []
    for attempt in ("first", "port taken", "again"):
        port = free_port()
        if attempt == "port taken":
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", port))
                taken.listen()
                failed = subprocess.run([str(BIN / "ecs-emulator"), "--port", str(port)],
                                        env=clean_env(HOME=str(tmp_path)), capture_output=True,
                                        text=True, timeout=60)
            assert failed.returncode == 1 and "cannot listen" in failed.stderr, failed.stderr
        else:
            running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port,
                            HOME=str(tmp_path))
            running.wait_until_healthy()
            arn = running.ecs().create_cluster(clusterName="c")["cluster"]["clusterArn"]
            assert running.ecs().describe_clusters(
                clusters=["c"])["clusters"][0]["clusterArn"] == arn
            assert running.stop() == 0, running.output()
        [copy] = glob.glob(str(copies / "dataclass-code-*.marshal"))
        made.append(os.stat(copy).st_ino)  # a copy written again is a new file (os.replace)
    assert made[0] == made[1] == made[2]


def test_write_copy_leaves_a_serve_start_little_to_compile(start, tmp_path):  # noqa: F811
    """What the container image does at build time: the start that follows reads the copy."""
    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from emulator import dataclass_code; "
                    "dataclass_code.write_copy()"], env=env, check=True, timeout=60)
    [copy] = glob.glob(str(tmp_path / ".cache" / "ecs-emulator" / "api-shapes" /
                           "dataclass-code-*.marshal"))
    key, written = marshal.loads(Path(copy).read_bytes())
    assert key == dataclass_code._key() and len(written) >= 200
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port, HOME=str(tmp_path))
    running.wait_until_healthy()
    assert running.stop() == 0
    _, used = marshal.loads(Path(copy).read_bytes())
    assert len(set(used) - set(written)) <= len(used) // 10  # (nearly) all were there

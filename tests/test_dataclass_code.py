"""emulator/dataclass_code.py: within cached(), dataclasses' methods come from the last start's
compiled code and behave as freshly compiled ones; what is new is compiled and kept; a torn or
foreign copy is passed over; dataclasses is left as it was; `ecs-emulator serve` keeps a copy."""

from __future__ import annotations

import dataclasses
import glob
import marshal
import os
import sys
from pathlib import Path

import pytest

from api_shapes import model_cache
from emulator import dataclass_code
from tests.test_cli import BIN, free_port, start  # noqa: F401  (start is a fixture)


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
    monkeypatch.setattr(model_cache, "CACHE_DIR", str(tmp_path))
    return tmp_path


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
    with dataclass_code.cached():
        behaves(*make_classes())
    first = len(compiles)
    assert first >= 8  # __init__, __repr__, __eq__, __setattr__... of both classes
    assert len(glob.glob(str(cache_dir / "dataclass-code-*.marshal"))) == 1
    with dataclass_code.cached():
        behaves(*make_classes())
    assert len(compiles) == first


def test_what_is_new_is_compiled_and_what_went_unused_is_dropped(cache_dir, compiles):
    with dataclass_code.cached():
        make_classes()

    with dataclass_code.cached():
        @dataclasses.dataclass
        class Other:
            name: str
            size: int = 0

    assert Other("x") == Other("x", 0) and repr(Other("y", 2)).endswith(".Other(name='y', size=2)")
    compiled = len(compiles)
    with dataclass_code.cached():
        behaves(*make_classes())  # the copy kept only Other's texts: these are compiled again
    assert len(compiles) > compiled


@pytest.mark.parametrize("content", [b"", b"\x00torn", None])
def test_a_torn_or_foreign_copy_is_passed_over_and_written_again(cache_dir, compiles, content,
                                                                 monkeypatch):
    with dataclass_code.cached():
        make_classes()
    [path] = glob.glob(str(cache_dir / "dataclass-code-*.marshal"))
    if content is None:  # made by another interpreter build: its key differs
        key = dataclass_code._key()
        monkeypatch.setattr(dataclass_code, "_key", lambda: key[:3] + ("another build",) + key[4:])
        # (another key's copy lives under the same name when path and minor version agree)
        assert model_cache._path("dataclass-code", dataclass_code._key()) == path
    else:
        Path(path).write_bytes(content)
    before = len(compiles)
    with dataclass_code.cached():
        behaves(*make_classes())
    after = len(compiles)
    assert after > before
    with dataclass_code.cached():
        behaves(*make_classes())
    assert len(compiles) == after  # the copy written again is read


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
    with dataclass_code.cached():
        behaves(*make_classes())


def test_serve_keeps_a_copy_and_a_start_from_it_answers(start, tmp_path):  # noqa: F811
    """Two real starts with a home of their own: the first writes the copy, the second reads it
    (and leaves it as it is: it compiled nothing) and answers ECS calls."""
    copies = tmp_path / ".cache" / "ecs-emulator" / "api-shapes"
    made = []
    for _ in range(2):
        port = free_port()
        running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port,
                        HOME=str(tmp_path))
        running.wait_until_healthy()
        arn = running.ecs().create_cluster(clusterName="c")["cluster"]["clusterArn"]
        assert running.ecs().describe_clusters(clusters=["c"])["clusters"][0]["clusterArn"] == arn
        assert running.stop() == 0, running.output()
        [copy] = glob.glob(str(copies / "dataclass-code-*.marshal"))
        made.append(os.stat(copy).st_ino)  # a copy written again is a new file (os.replace)
    assert made[0] == made[1]


def test_write_copy_leaves_a_serve_start_little_to_compile(start, tmp_path):  # noqa: F811
    """What the container image does at build time: the start that follows reads the copy."""
    import subprocess

    env = {**os.environ, "HOME": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "from emulator import dataclass_code; "
                    "dataclass_code.write_copy()"], env=env, check=True, timeout=60)
    [copy] = glob.glob(str(tmp_path / ".cache" / "ecs-emulator" / "api-shapes" /
                           "dataclass-code-*.marshal"))
    key, written = marshal.loads(Path(copy).read_bytes())
    assert key == dataclass_code._key()[:2] + key[2:] and len(written) >= 200
    port = free_port()
    running = start([str(BIN / "ecs-emulator"), "--port", str(port)], port, HOME=str(tmp_path))
    running.wait_until_healthy()
    assert running.stop() == 0
    _, used = marshal.loads(Path(copy).read_bytes())
    assert len(set(used) - set(written)) <= len(used) // 10  # (nearly) all were there

"""The Docker event stream's reading (runtime/docker_streams.py) against a scripted API: no
event is lost for arriving out of time order, and none is told twice after a reconnect."""

from __future__ import annotations

import threading

from emulator.runtime import docker_streams


def _die(container: str, nanos: int) -> dict:
    return {"Type": "container", "Action": "die", "timeNano": nanos,
            "Actor": {"ID": container, "Attributes": {"exitCode": "0", "x": "y"}}}


class _ScriptedApi:
    """Each events() call plays the next script; a script ending in an exception drops the
    stream as a restarting engine would."""

    def __init__(self, scripts: list[list]):
        self.scripts = scripts
        self.params: list[dict] = []
        self.played_out = threading.Event()  # every script played: the reader stops

    def events(self, decode: bool, filters: dict, **params):
        self.params.append(params)
        if not self.scripts:
            self.played_out.set()
        script = self.scripts.pop(0) if self.scripts else []

        def stream():
            for item in script:
                if isinstance(item, Exception):
                    raise item
                yield item
        return stream()


def _read(api: _ScriptedApi, since: float | None = None) -> list:
    got = []
    for event in docker_streams.events(lambda: api, "x", api.played_out, since=since):
        got.append((event.container_id, event.time))
    return got


def test_an_event_stamped_before_the_last_one_is_still_told(monkeypatch):
    # dockerd stamps an event before the lock that publishes it: b's death, stamped first,
    # can come after a's. It was dropped as "replayed", and b's task stayed RUNNING.
    monkeypatch.setattr(docker_streams, "_RECONNECT_DELAY_S", 0.0)
    api = _ScriptedApi([[_die("a", 2_000_000_000_500), _die("b", 2_000_000_000_400),
                         _die("c", 2_000_000_000_600)]])
    got = _read(api)
    assert [container for container, _ in got] == ["a", "b", "c"]


def test_a_reconnect_replays_from_before_the_last_event_and_tells_nothing_twice(monkeypatch):
    first = [_die("a", 5_000_000_000_000), _die("b", 5_000_000_001_000), ConnectionError("gone")]
    # the new stream (since a margin before b) replays a and b, then tells c, stamped before b
    # but published after the stream dropped
    second = [_die("a", 5_000_000_000_000), _die("b", 5_000_000_001_000),
              _die("c", 5_000_000_000_900), _die("d", 5_000_000_002_000)]
    api = _ScriptedApi([first, second])
    monkeypatch.setattr(docker_streams, "_RECONNECT_DELAY_S", 0.0)
    got = _read(api, since=4990.0)
    assert [container for container, _ in got] == ["a", "b", "c", "d"]
    assert api.params[0] == {"since": docker_streams.since_param(4990.0)}
    replay_from = float(api.params[1]["since"])
    assert replay_from < 5000.0 and 5000.000001 - replay_from <= 2.0 + 1e-6


class _DownApi(_ScriptedApi):
    """An engine that does not answer the first `down` calls, then plays its scripts."""

    def __init__(self, down: int, scripts: list[list]):
        super().__init__(scripts)
        self.down = down

    def events(self, decode: bool, filters: dict, **params):
        if self.down:
            self.down -= 1
            raise ConnectionError("Connection aborted: no such file")
        return super().events(decode, filters, **params)


def test_an_engine_that_is_down_is_said_once_and_its_return_too(monkeypatch, caplog):
    # A user without a running Docker Engine got a warning every second, for as long as it ran.
    monkeypatch.setattr(docker_streams, "_RECONNECT_DELAY_S", 0.0)
    api = _DownApi(5, [[_die("a", 1_000_000_000)]])
    with caplog.at_level("DEBUG", logger=docker_streams.__name__):
        assert [container for container, _ in _read(api)] == ["a"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["docker event stream failed: Connection aborted: no such file; "
                        "trying again every second"]
    infos = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert infos == ["docker event stream open again after 5 failed tries"]

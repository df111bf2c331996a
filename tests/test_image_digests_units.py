"""Kept image digests without Docker: one inspect per image while Docker's image events are
heard, forgotten on any image event, and asked each time while the event stream is down."""

from __future__ import annotations

import queue

from emulator.runtime import image_digests
from emulator.runtime.image_digests import ImageDigests
from tests.waiting import wait_for


class Stream:
    def __init__(self, events: queue.Queue):
        self._events = events

    def __iter__(self):
        while (event := self._events.get()) is not None:  # None: the connection dropped
            yield event

    def close(self):
        self._events.put(None)


class Api:
    def __init__(self):
        self.images = {"app:dev": "sha256:one"}
        self.inspects = 0
        self.events_queue: queue.Queue = queue.Queue()
        self.connections = 0

    def events(self, decode, filters, since):
        assert filters == {"type": ["image"]}
        self.connections += 1
        return Stream(self.events_queue)


def lookup(api, image):
    api.inspects += 1
    return api.images.get(image)


def test_digests_are_kept_until_an_image_event_and_asked_while_unheard(monkeypatch):
    monkeypatch.setattr(image_digests, "RECONNECT_DELAY_S", 3600)
    api = Api()
    digests = ImageDigests(lambda: api, lookup)
    try:
        assert digests.digest("app:dev") == "sha256:one"
        wait_for(lambda: digests._watching, bool, timeout=5, interval=0.01)  # events heard
        digests.digest("app:dev")
        asked = api.inspects
        assert [digests.digest("app:dev") for _ in range(5)] == ["sha256:one"] * 5
        assert api.inspects == asked  # kept: Docker was not asked again

        api.images["app:dev"] = "sha256:two"  # docker build -t app:dev, again
        api.events_queue.put({"Type": "image", "Action": "tag"})
        wait_for(lambda: digests.digest("app:dev"), lambda d: d == "sha256:two", timeout=5,
                 interval=0.01)

        api.events_queue.put(None)  # the engine went away: nothing kept, each look-up asks
        wait_for(lambda: digests._watching, lambda watching: not watching, timeout=5,
                 interval=0.01)
        asked = api.inspects
        digests.digest("app:dev")
        digests.digest("app:dev")
        assert api.inspects == asked + 2
    finally:
        digests.close()

"""Kept image digests without Docker: one inspect per image while Docker's image events are
heard, forgotten on any image event, and asked each time while the event stream is down."""

from __future__ import annotations

import queue
import threading
import time

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


class SlowApi(Api):
    """An inspect that waits until the test lets it answer (or fail)."""

    def __init__(self):
        super().__init__()
        self.asked = threading.Event()
        self.answer = threading.Event()
        self.fail: Exception | None = None


def slow_lookup(api, image):
    api.inspects += 1
    api.asked.set()
    assert api.answer.wait(5)
    if api.fail is not None:
        raise api.fail
    return api.images.get(image)


def _at_once(digests, image, count):
    """`count` look-ups of `image` on threads; their answers (or errors) in a list, once done."""
    answers: list = []

    def one():
        try:
            answers.append(digests.digest(image))
        except Exception as error:  # noqa: BLE001 - what a caller sees is the assertion
            answers.append(error)

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads, answers


def test_look_ups_at_the_same_time_share_one_inspect(monkeypatch):
    """A burst of tasks asking one image's digest at once asks Docker once; a failed inspect
    fails each waiter and is not kept (the next look-up asks again)."""
    monkeypatch.setattr(image_digests, "RECONNECT_DELAY_S", 3600)
    api = SlowApi()
    digests = ImageDigests(lambda: api, slow_lookup)
    try:
        api.answer.set()
        digests.digest("other:1")  # opens the event stream: its connection forgets all too
        wait_for(lambda: digests._watching, bool, timeout=5, interval=0.01)
        api.answer.clear()
        api.asked.clear()
        api.inspects = 0
        threads, answers = _at_once(digests, "app:dev", 8)
        assert api.asked.wait(5)
        wait_for(lambda: sum(t.is_alive() for t in threads), lambda n: n == 8, timeout=5,
                 interval=0.01)
        time.sleep(0.05)  # the others reach their wait, not a second inspect
        api.answer.set()
        for thread in threads:
            thread.join(5)
        assert answers == ["sha256:one"] * 8
        assert api.inspects == 1

        api.events_queue.put({"Type": "image", "Action": "tag"})  # forgets what was kept
        wait_for(lambda: digests._known, lambda known: not known, timeout=5, interval=0.01)
        api.answer.clear()
        api.asked.clear()
        api.fail = RuntimeError("engine away")
        threads, answers = _at_once(digests, "app:dev", 3)
        assert api.asked.wait(5)
        time.sleep(0.05)
        api.answer.set()
        for thread in threads:
            thread.join(5)
        assert [str(a) for a in answers] == ["engine away"] * 3
        assert api.inspects == 2

        api.fail = None
        assert digests.digest("app:dev") == "sha256:one"  # asked again, not the failure kept
        assert api.inspects == 3
    finally:
        digests.close()

"""Long reads from Docker: the event stream of our containers, and container logs demultiplexed.

The event stream reconnects (from the last event seen) if the engine drops it, and ends promptly
once `until_stopped` is set: a watcher closes the socket under the blocked reader.
"""

from __future__ import annotations

import calendar
import functools
import logging
import re
import struct
import threading
import time
from collections import deque
from typing import Callable, Iterator

from .base import RuntimeEvent

log = logging.getLogger(__name__)

EVENT_ACTIONS = ("start", "die", "oom", "kill", "destroy", "health_status")
# Event attributes Docker adds beside the container's labels.
_NOT_LABELS = {"exitCode", "image", "name", "signal", "execDuration"}
_RECONNECT_DELAY_S = 1.0
# dockerd stamps an event before it takes the lock that publishes it, so under load events of
# different containers arrive slightly out of time order. A stream opened again therefore asks
# for events from this much before the last one seen, and drops only those it already had.
_REPLAY_MARGIN_NS = 2_000_000_000


def to_event(message: dict) -> RuntimeEvent | None:
    """A RuntimeEvent from one decoded Docker event, or None for one we do not report."""
    action = message.get("Action") or message.get("status") or ""
    health = None
    if action.startswith("health_status"):
        action, _, health = action.partition(":")
        health = health.strip() or None
    if action not in EVENT_ACTIONS:
        return None
    attributes = (message.get("Actor") or {}).get("Attributes") or {}
    exit_code = attributes.get("exitCode")
    nanos = message.get("timeNano") or int(message.get("time", 0)) * 1_000_000_000
    return RuntimeEvent(
        container_id=(message.get("Actor") or {}).get("ID") or message.get("id", ""),
        action=action,
        labels={k: v for k, v in attributes.items() if k not in _NOT_LABELS},
        exit_code=int(exit_code) if exit_code not in (None, "") else None,
        health=health,
        time=nanos / 1e9,
        signal=attributes.get("signal") if action == "kill" else None,
    )


def since_param(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole}.{int(round((seconds - whole) * 1e9)):09d}"


def events(api_factory: Callable[[], object], label_filter: str, until_stopped: threading.Event,
           since: float | None = None) -> Iterator[RuntimeEvent]:
    """Our containers' events until `until_stopped` is set; reconnects if the stream drops."""
    guard = threading.Lock()
    current: list = [None]
    done = threading.Event()

    def watch() -> None:
        while not until_stopped.wait(0.5):
            if done.is_set():
                return
        with guard:
            if current[0] is not None:
                _close(current[0])

    threading.Thread(target=watch, name="docker-events-watch", daemon=True).start()
    filters = {"type": ["container"], "label": [label_filter], "event": list(EVENT_ACTIONS)}
    last_nanos = int(since * 1e9) if since else 0
    seen = _Seen()
    failures = 0  # in a row: an engine that is down is said once, not every second
    try:
        while not until_stopped.is_set():
            try:
                with guard:
                    if until_stopped.is_set():
                        return
                    start = (max(0, last_nanos - _REPLAY_MARGIN_NS) if seen.keys
                             else last_nanos)
                    params = {"since": since_param(start / 1e9)} if start else {}
                    current[0] = api_factory().events(decode=True, filters=filters, **params)
                if failures:
                    log.info("docker event stream open again after %d failed tries", failures)
                    failures = 0
                for message in current[0]:
                    if until_stopped.is_set():
                        return
                    nanos = message.get("timeNano") or 0
                    # Never "older than the last one, so replayed": an event stamped earlier
                    # may come later (a container's death among hundreds, missed for good).
                    if not seen.first_time(message, nanos):
                        continue  # replayed by `since` after a reconnect
                    last_nanos = max(last_nanos, nanos)
                    seen.forget_before(last_nanos - _REPLAY_MARGIN_NS)
                    event = to_event(message)
                    if event is not None:
                        yield event
            except Exception as error:  # the engine went away; try again unless told to stop
                if until_stopped.is_set():
                    return
                failures += 1
                (log.warning if failures == 1 else log.debug)(
                    "docker event stream failed: %s%s", error,
                    "; trying again every second" if failures == 1 else "")
            until_stopped.wait(_RECONNECT_DELAY_S)
    finally:
        done.set()
        with guard:
            if current[0] is not None:
                _close(current[0])


class _Seen:
    """The events of the last replay margin, by time, container and action: what a stream
    opened again with an earlier `since` must not tell twice."""

    def __init__(self) -> None:
        self.keys: set[tuple] = set()
        self._order: deque[tuple] = deque()  # as they came (nearly time order)

    def first_time(self, message: dict, nanos: int) -> bool:
        key = (nanos, (message.get("Actor") or {}).get("ID") or message.get("id"),
               message.get("Action") or message.get("status"))
        if key in self.keys:
            return False
        self.keys.add(key)
        self._order.append(key)
        return True

    def forget_before(self, nanos: int) -> None:
        while self._order and self._order[0][0] < nanos:
            self.keys.discard(self._order.popleft())


def _close(stream) -> None:
    try:
        stream.close()
    except Exception:  # already closed, or the socket is gone: either way it is closed
        pass


def parse_timestamp(text: str) -> float:
    """Docker's RFC 3339 timestamp with nanoseconds ("2024-05-01T12:34:56.123456789Z") as epoch s."""
    text = text.strip()
    offset = 0
    if text.endswith("Z"):
        text = text[:-1]
    elif len(text) > 6 and text[-6] in "+-" and text[-3] == ":":
        sign = 1 if text[-6] == "+" else -1
        offset = sign * (int(text[-5:-3]) * 3600 + int(text[-2:]) * 60)
        text = text[:-6]
    whole, _, fraction = text.partition(".")
    return _whole_seconds(whole) - offset + (float("0." + fraction) if fraction else 0.0)


@functools.lru_cache(maxsize=64)
def _whole_seconds(whole: str) -> int:
    # Lines of a log come many to a second: strptime was most of the time a chatty task's lines
    # took to read (the emulator's threads wait on it), once per line.
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S"))


def _split_timestamp(line: str) -> tuple[float, str]:
    stamp, _, text = line.partition(" ")
    try:
        return parse_timestamp(stamp), text
    except ValueError:
        return time.time(), line


_STREAMS = {1: "stdout", 2: "stderr"}
_CONTINUATION_STAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) ")
# A line is held until its newline comes, and a container's code decides when that is: one that
# never writes a newline (`cat /dev/zero | tr '\0' a`) grew the line in this process's memory
# without bound, each frame copying and scanning all of it. Past this many bytes the line held
# so far is given out as a line of its own, and what follows carries its timestamp on.
MAX_LINE_BYTES = 1 << 20


def _cut_long_lines(held: bytes) -> tuple[list[bytes], bytes]:
    """(pieces of `held` as lines, the rest), each piece at most MAX_LINE_BYTES (or its timestamp
    and 4 bytes more, should the timestamp be longer: every cut must shorten what is held) and cut
    between UTF-8 characters, not inside one; each continuation keeps the same timestamp."""
    stamped = _CONTINUATION_STAMP.match(held)
    prefix = stamped.group(0) if stamped else b""
    limit = max(MAX_LINE_BYTES, len(prefix) + 4)
    pieces = []
    while len(held) > limit:
        cut = limit
        while cut > limit - 3 and (held[cut] & 0xC0) == 0x80:  # a continuation byte
            cut -= 1  # (a character has at most 3 of them; more is not UTF-8: cut there anyway)
        pieces.append(held[:cut])
        held = prefix + held[cut:]
    return pieces, held


def log_lines(chunks: Iterator[bytes], tty: bool) -> Iterator[tuple[float, str, str]]:
    """(epoch seconds, stream, line) from the body of GET /containers/{id}/logs?timestamps=1.

    Without a TTY the body is multiplexed: frames of an 8-byte header (stream, size) and payload.
    """
    buffers = {"stdout": b"", "stderr": b""}
    pending = b""
    for chunk in chunks:
        if tty:
            frames = [("stdout", chunk)]
        else:
            pending += chunk
            frames, at = [], 0  # cut once per chunk: a chunk holds thousands of short frames
            while len(pending) - at >= 8:
                kind, size = struct.unpack_from(">BxxxL", pending, at)
                if len(pending) - at < 8 + size:
                    break
                frames.append((_STREAMS.get(kind, "stdout"), pending[at + 8:at + 8 + size]))
                at += 8 + size
            pending = pending[at:]
        for stream, data in frames:
            if buffers[stream] and not tty:
                # A line over 16 KiB comes as several messages, each with its own timestamp.
                data = _CONTINUATION_STAMP.sub(b"", data, count=1)
            buffers[stream] += data
            *lines, buffers[stream] = buffers[stream].split(b"\n")
            if tty:  # a terminal ends its lines in "\r\n"; a piece cut from a line keeps its "\r"
                lines = [line.rstrip(b"\r") for line in lines]
            pieces, buffers[stream] = _cut_long_lines(buffers[stream])
            for line in lines + pieces:
                stamp, text = _split_timestamp(line.decode("utf-8", "replace"))
                yield stamp, stream, text
    for stream, rest in buffers.items():
        if rest:
            stamp, text = _split_timestamp(rest.decode("utf-8", "replace"))
            yield stamp, stream, text

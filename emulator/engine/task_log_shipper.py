"""One container's output shipped into a CloudWatch Logs stream in moto, as Docker's awslogs driver
ships it: lines become events (or, with a multiline pattern, runs of lines do), batched within
PutLogEvents' limits and put through moto's backend in this process.

Containers log to Docker's json-file driver, which keeps every line from the container's start;
a shipper follows that log from the beginning, so a container that exited before it was looked
at loses nothing. A reader thread follows the log (it ends when the container has exited and its
log is read); a writer thread joins, batches and puts, so a line is put as soon as it is read
while a chatty container still gets large batches.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from typing import Protocol

from emulator.aws import moto_log_trim

log = logging.getLogger("emulator.logs")

# PutLogEvents' limits: each event counts 26 bytes besides its message.
EVENT_OVERHEAD_BYTES = 26
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
MAX_EVENT_BYTES = 262_144 - EVENT_OVERHEAD_BYTES
# Docker's awslogs flushes a multiline event this long after its first line came, even if no
# line has come to end it (its default awslogs-force-flush-interval-seconds). Counted from when
# the line was read, not from its timestamp: a log read late (a container that exited before
# its shipper started) must still be joined.
MULTILINE_FLUSH_S = 5.0
_QUEUE_LINES = 10_000  # lines read ahead of the writer; the reader waits beyond that
# ... or beyond this many bytes of them: a line may be up to docker_streams.MAX_LINE_BYTES, and
# 10,000 of those held for a writer that falls behind would be 10 GiB of this process's memory.
_QUEUE_BYTES = 16 << 20
# moto keeps every event in this process's memory, and reads them all (and sorts them) for each
# GetLogEvents: a task logging in a loop (`yes`) grew the emulator by about 3 MB a second, for as
# long as it ran. A stream a shipper writes keeps its newest events up to about this much of
# this process's memory (Docker's json-file keeps 60 MB of a container's own log); past it the
# oldest go, down to three quarters of it, so that a trim is rare.
STREAM_KEEP_BYTES = 64 << 20
EVENT_MEMORY_BYTES = 200  # what moto's event costs besides its message (measured: about 150)
_END = object()

# Docker's table for awslogs-datetime-format: strftime directives -> regular expressions.
# A directive not in it becomes nothing, and the rest of the format is taken as a regex, as
# Docker takes it.
_STRFTIME_TO_REGEX = {
    "%a": r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)",
    "%A": r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)",
    "%w": r"[0-6]",
    "%d": r"(?:0[1-9]|[1,2][0-9]|3[0,1])",
    "%b": r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)",
    "%B": r"(?:January|February|March|April|May|June|July|August|September|October|November"
          r"|December)",
    "%m": r"(?:0[1-9]|1[0-2])",
    "%Y": r"\d{4}",
    "%y": r"\d{2}",
    "%H": r"(?:[0,1][0-9]|2[0-3])",
    "%I": r"(?:0[0-9]|1[0-2])",
    "%p": r"[A,P]M",
    "%M": r"[0-5][0-9]",
    "%S": r"[0-5][0-9]",
    "%f": r"\d{6}",
    "%z": r"[+-]\d{4}",
    "%Z": r"[A-Z]{1,4}T",
    "%j": r"(?:0[0-9][1-9]|[1,2][0-9][0-9]|3[0-5][0-9]|36[0-6])",
    "%L": r"\.\d{3}",
}


class Pattern(Protocol):
    """A compiled multiline pattern (RE2's, task_logs.py; Python's re in unit tests)."""

    def search(self, text: str) -> object: ...


def strftime_regex(datetime_format: str) -> str:
    """awslogs-datetime-format as the regular expression Docker makes of it."""
    return re.sub(r"%.", lambda m: _STRFTIME_TO_REGEX.get(m.group(0), ""), datetime_format)


def split_message(message: str) -> list[str]:
    """A message cut into pieces of at most MAX_EVENT_BYTES (UTF-8), never inside a character;
    an empty message is no event at all (CloudWatch Logs takes none)."""
    if len(message) * 4 <= MAX_EVENT_BYTES:  # no UTF-8 character is longer than 4 bytes
        return [message] if message else []
    data = message.encode("utf-8")
    pieces = []
    while data:
        cut = min(len(data), MAX_EVENT_BYTES)
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte
            cut -= 1
        pieces.append(data[:cut].decode("utf-8"))
        data = data[cut:]
    return pieces


class EventJoiner:
    """Lines -> log events (epoch ms, message).

    Without a pattern each line is an event. With one, as Docker's awslogs does: a line the
    pattern matches (anywhere in it) starts a new event, and the lines that follow join it, each
    ending in a newline, until the next match, the event's size limit, or flush().
    """

    def __init__(self, pattern: Pattern | None):
        self.pattern = pattern
        self._lines: list[str] = []
        self._bytes = 0
        self._stamp = 0

    @property
    def pending_since(self) -> int | None:
        """The timestamp of the event being joined, or None."""
        return self._stamp if self._lines else None

    def feed(self, stamp_ms: int, line: str) -> list[tuple[int, str]]:
        if self.pattern is None:
            return [(stamp_ms, piece) for piece in split_message(line)]
        size = _utf8_len(line)
        done = []
        if self._lines and (self.pattern.search(line) or self._bytes + size > MAX_EVENT_BYTES):
            done = self.flush()
        if not self._lines:
            self._stamp = stamp_ms
        text = line + "\n" if size < MAX_EVENT_BYTES else line
        self._lines.append(text)
        self._bytes += size + (len(text) - len(line))
        return done

    def flush(self) -> list[tuple[int, str]]:
        if not self._lines:
            return []
        message, stamp = "".join(self._lines), self._stamp
        self._lines, self._bytes = [], 0
        return [(stamp, piece) for piece in split_message(message)]


def batches(events: list[tuple[int, str]]) -> list[list[dict]]:
    """PutLogEvents batches: in time order (a batch must be), within the count and size limits."""
    ordered = sorted(events, key=lambda event: event[0])  # stable: equal stamps keep their order
    result: list[list[dict]] = []
    batch: list[dict] = []
    size = 0
    for stamp, message in ordered:
        cost = _utf8_len(message) + EVENT_OVERHEAD_BYTES
        if batch and (len(batch) >= MAX_BATCH_EVENTS or size + cost > MAX_BATCH_BYTES):
            result.append(batch)
            batch, size = [], 0
        batch.append({"timestamp": stamp, "message": message})
        size += cost
    if batch:
        result.append(batch)
    return result


class LogShipper:
    """Follows one container's log into one stream of one log group of a moto logs backend."""

    def __init__(self, runtime, container_id: str, backend, group: str, stream: str,
                 pattern: Pattern | None, since: float | None = None):
        self.runtime = runtime
        self.since = since  # epoch seconds: lines before were shipped already (a restart)
        self.container_id = container_id
        self.backend = backend
        self.group = group
        self.stream = stream
        self._joiner = EventJoiner(pattern)
        self._pending_read_at: float | None = None  # when the event being joined began
        self._lines: queue.Queue = queue.Queue(maxsize=_QUEUE_LINES)
        self._queued_bytes = 0  # of the lines in self._lines; the reader waits above _QUEUE_BYTES
        self._room = threading.Condition()
        name = container_id[:12]
        self._reader = threading.Thread(target=self._read, name=f"logs-read-{name}", daemon=True)
        self._writer = threading.Thread(target=self._write, name=f"logs-put-{name}", daemon=True)

    def start(self) -> None:
        # Docker's driver creates the stream when the container starts, output or not.
        try:
            self.backend.ensure_log_stream(self.group, self.stream)
        except Exception as error:  # the group went away since the task started; lines are lost
            log.warning("log stream %s/%s: %s", self.group, self.stream, error)
        self._reader.start()
        self._writer.start()

    def join(self, timeout: float) -> bool:
        """Wait until every line the container wrote is put; False if `timeout` passed first."""
        self._writer.join(timeout)
        return not self._writer.is_alive()

    # -- the two threads ----------------------------------------------------------------------

    def _read(self) -> None:
        try:
            for stamp, _stream, line in self.runtime.logs(self.container_id, since=self.since,
                                                     follow=True):
                self._wait_for_room(len(line))
                self._lines.put((int(stamp * 1000), line))
        except Exception as error:  # Docker went away; ship what was read
            log.warning("reading the log of container %s failed: %s", self.container_id, error)
        finally:
            self._lines.put(_END)

    def _write(self) -> None:
        ended = False
        while not ended:
            events, ended = self._take()
            due = (self._pending_read_at is not None
                   and time.monotonic() - self._pending_read_at >= MULTILINE_FLUSH_S)
            if ended or due:
                events += self._joiner.flush()
                self._pending_read_at = None
            self._put(events)

    def _take(self) -> tuple[list[tuple[int, str]], bool]:
        """The events from the lines at hand (waiting for the first); True once the log ended."""
        events: list[tuple[int, str]] = []
        taken_bytes = 0  # a batch's worth is put before more is taken: lines may be long
        try:
            item = self._lines.get(timeout=self._wait_s())
        except queue.Empty:
            return events, False
        while True:
            if item is _END:
                return events, True
            self._made_room(len(item[1]))
            taken_bytes += len(item[1])
            done = self._joiner.feed(*item)
            if self._joiner.pending_since is None:
                self._pending_read_at = None
            elif done or self._pending_read_at is None:  # this line began a joined event
                self._pending_read_at = time.monotonic()
            events += done
            if len(events) >= MAX_BATCH_EVENTS or taken_bytes >= MAX_BATCH_BYTES:
                return events, False
            try:
                item = self._lines.get_nowait()
            except queue.Empty:
                return events, False

    def _wait_for_room(self, size: int) -> None:
        with self._room:
            self._room.wait_for(lambda: self._queued_bytes <= _QUEUE_BYTES)
            self._queued_bytes += size

    def _made_room(self, size: int) -> None:
        with self._room:
            self._queued_bytes -= size
            self._room.notify()

    def _wait_s(self) -> float | None:
        """Block for the next line, but not past the moment a pending multiline event is due."""
        if self._pending_read_at is None:
            return None
        due_in = self._pending_read_at + MULTILINE_FLUSH_S - time.monotonic()
        return min(max(due_in, 0.05), MULTILINE_FLUSH_S)

    def _put(self, events: list[tuple[int, str]]) -> None:
        for batch in batches(events):
            try:
                self.backend.put_log_events(self.group, self.stream, batch)
            except Exception as error:  # the group or stream was deleted under us
                log.warning("putting %d events into %s/%s failed: %s", len(batch), self.group,
                            self.stream, error)
        if not events:
            return
        try:  # this thread must live on: the reader waits for it to make room
            keep_newest(self.backend, self.group, self.stream)
        except Exception as error:
            log.warning("trimming %s/%s failed: %s", self.group, self.stream, error)


def keep_newest(backend, group: str, stream: str) -> None:
    """Drop a moto stream's oldest events once they cost more than STREAM_KEEP_BYTES."""
    log_stream = getattr(backend, "groups", {}).get(group)
    log_stream = log_stream.streams.get(stream) if log_stream is not None else None
    if log_stream is None:
        return
    events, kept = log_stream.events, log_stream.stored_bytes  # moto's sum of message lengths
    cost, first = kept + EVENT_MEMORY_BYTES * len(events), 0
    if cost <= STREAM_KEEP_BYTES:
        return
    while first < len(events) and cost > STREAM_KEEP_BYTES * 3 // 4:
        size = len(events[first].message)
        kept, cost, first = kept - size, cost - size - EVENT_MEMORY_BYTES, first + 1
    moto_log_trim.drop_oldest(log_stream, first)


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))

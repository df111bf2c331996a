"""A moto log stream that drops its oldest events, with GetLogEvents' and FilterLogEvents'
page tokens still naming the events they named.

A stream the awslogs driver writes keeps only its newest events (engine/task_log_shipper.py).
moto's GetLogEvents tokens are positions in the stream's events (`f/<index of the last event
given>`, `b/<index of the first>`): dropping the first d events moved every position by d, so a
follower holding nextForwardToken skipped d events, or got nothing and then missed new events
silently. The stream remembers each drop (how many events, their oldest and newest timestamps,
their lowest and highest event ids), and once it has dropped, its GetLogEvents takes tokens as
positions counted from the stream's first event ever: a token naming a dropped event reads on
from the oldest kept. Positions count only the events in the call's startTime..endTime, and
which drops count is chosen so a reader may read some events again but never skips one: a
forward token counts a drop any of whose events may be in the window, a backward token only a
drop wholly inside it. A stream that never dropped answers with moto's own tokens.

A FilterLogEvents token names an event by id; one naming a dropped event ended the listing
(moto answers an unknown id with nothing): it reads on from that stream's first kept event, or
the next stream's if it has none (streams listed one after another, moto's default), or, with
`interleaved`, from the first event no older than the drop's oldest.

moto's event ids come from a class counter that persistence does not save: a put into a stream
first lifts it above every id the stream has held, kept or dropped, so a new event's id is never
taken for a dropped one.

A trim and the list and byte-count changes of moto's PutLogEvents into that stream
(`stored_bytes +=`, `events +=`: an event list a trim replaced meanwhile came back whole) hold
the stream's lock, and so does its GetLogEvents (tokens and events read together). What a put
delivers to subscription filters is delivered after the lock is let go: a filter delivering into
the same group, or two groups delivering into each other from two threads, would wait on a lock
its own thread or the other holds.
"""

from __future__ import annotations

import inspect
import logging
import threading
import weakref

log = logging.getLogger("emulator.aws")

_installed = threading.Lock()
_done = False

# A stream's drops beyond this are merged, oldest two first: a merged drop spans both (it only
# makes readers re-read more).
MAX_DROPS = 64

# Beside the streams, not on them: persistence pickles moto's objects, and a lock cannot be.
_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locks_made = threading.Lock()
# Subscription deliveries a put made while holding its stream's lock, made after it lets go.
_deferred = threading.local()


def _lock(stream) -> threading.Lock:
    lock = _locks.get(stream)
    if lock is None:
        with _locks_made:
            lock = _locks.setdefault(stream, threading.Lock())
    return lock


def drop_oldest(stream, count: int) -> None:
    """Drop `stream`'s first `count` events (moto's LogStream), remembering the drop."""
    with _lock(stream):
        gone, kept = stream.events[:count], stream.events[count:]
        if not gone:
            return
        # The drop first: FilterLogEvents reads without the lock, and a drop it sees before
        # the events go only makes it read some again.
        drops = list(getattr(stream, "emulator_drops", ()))
        drops.append((min(event.timestamp for event in gone),
                      max(event.timestamp for event in gone), len(gone),
                      min(event.event_id for event in gone),
                      max(event.event_id for event in gone)))
        while len(drops) > MAX_DROPS:
            drops[:2] = [_merged(drops[0], drops[1])]
        stream.emulator_drops = drops
        stream.emulator_oldest_kept_id = kept[0].event_id if kept else None
        # New lists: a FilterLogEvents reading the old ones meanwhile reads them whole.
        stream.events = kept
        stream.stored_bytes = sum(len(event.message) for event in kept)  # moto's measure


def _merged(older: tuple, newer: tuple) -> tuple:
    if len(older) < 5 or len(newer) < 5:  # drops saved before ids were recorded
        return (min(older[0], newer[0]), max(older[1], newer[1]), older[2] + newer[2])
    return (min(older[0], newer[0]), max(older[1], newer[1]), older[2] + newer[2],
            min(older[3], newer[3]), max(older[4], newer[4]))


def _dropped(drops, start_time, end_time, whole: bool) -> int:
    """How many dropped events count in positions of GetLogEvents over start..end (moto's
    bounds: 0 or None is none): drops wholly inside them, or with any timestamp in them."""
    if whole:
        return sum(drop[2] for drop in drops
                   if (not start_time or drop[0] >= start_time)
                   and (not end_time or drop[1] <= end_time))
    return sum(drop[2] for drop in drops
               if (not start_time or drop[1] >= start_time)
               and (not end_time or drop[0] <= end_time))


def _shift_token(token: str | None, by: int) -> str | None:
    """moto's `f/<index>` or `b/<index>` moved by `by`; anything else as it is (moto refuses
    it). An incoming token moved below the oldest kept event reads from that event: `f/-1`
    (moto reads forward from index + 1), `b/0` (backward from index - 1: nothing older)."""
    if token is None or len(token) < 3 or token[0] not in "fb" or token[1] != "/":
        return token
    try:
        index = int(token[2:]) + by
    except ValueError:
        return token
    index = max(index, -1 if token[0] == "f" else 0)
    return f"{token[0]}/{index:056d}"


def _lift_event_ids(stream, event_class) -> None:
    """Put moto's event id counter above every id `stream` has held (a restore leaves it 0)."""
    highest = stream.events[-1].event_id if stream.events else -1
    for drop in getattr(stream, "emulator_drops", ()):
        if len(drop) >= 5:
            highest = max(highest, drop[4])
    if event_class._event_id <= highest:
        event_class._event_id = highest + 1


# What the wrappers pass on: moto is unpinned, and a method that changed is left unwrapped.
_EXPECTED = {
    ("LogStream", "put_log_events"): ["self", "log_events"],
    ("LogStream", "_send_log_events"): ["self", "service", "destination_arn", "filter_name",
                                        "log_events"],
    ("LogStream", "get_log_events"): ["self", "start_time", "end_time", "limit", "next_token",
                                      "start_from_head"],
    ("LogGroup", "filter_log_events"): ["self", "log_group_name", "log_stream_names",
                                       "start_time", "end_time", "limit", "next_token",
                                       "filter_pattern", "interleaved"],
}


def _signatures_match(classes: dict) -> bool:
    for (owner, name), expected in _EXPECTED.items():
        method = getattr(classes[owner], name, None)
        try:
            found = list(inspect.signature(method).parameters) if method else None
        except (TypeError, ValueError):
            found = None
        if found != expected:
            log.warning("moto's %s.%s takes %s, not %s: log streams are trimmed without "
                        "mending page tokens", owner, name, found, expected)
            return False
    return True


def install() -> None:
    """Wrap moto's LogStream and LogGroup (once per process: moto's classes are global)."""
    global _done
    with _installed:
        if _done:
            return
        _done = True
        from moto.logs.models import LogEvent, LogGroup, LogStream

        if not _signatures_match({"LogStream": LogStream, "LogGroup": LogGroup}):
            return
        put_log_events = LogStream.put_log_events
        send_log_events = LogStream._send_log_events
        get_log_events = LogStream.get_log_events
        filter_log_events = LogGroup.filter_log_events

        def locked_put_log_events(self, log_events):
            outer = getattr(_deferred, "queue", None)
            _deferred.queue = queue = []
            try:
                with _lock(self):
                    _lift_event_ids(self, LogEvent)
                    token = put_log_events(self, log_events)
            finally:
                _deferred.queue = outer
            for args, kwargs in queue:
                send_log_events(*args, **kwargs)
            return token

        def deferred_send_log_events(self, *args, **kwargs):
            queue = getattr(_deferred, "queue", None)
            if queue is None:
                return send_log_events(self, *args, **kwargs)
            queue.append(((self, *args), kwargs))
            return None

        def shifted_get_log_events(self, start_time, end_time, limit, next_token,
                                   start_from_head):
            with _lock(self):
                drops = getattr(self, "emulator_drops", None)
                if not drops:  # never dropped: moto's own tokens
                    return get_log_events(self, start_time, end_time, limit, next_token,
                                          start_from_head)
                overlapping = _dropped(drops, start_time, end_time, whole=False)
                inside = _dropped(drops, start_time, end_time, whole=True)
                by = inside if next_token and next_token.startswith("b/") else overlapping
                events, backward, forward = get_log_events(
                    self, start_time, end_time, limit, _shift_token(next_token, -by),
                    start_from_head)
            return events, _shift_token(backward, inside), _shift_token(forward, overlapping)

        def resumed_filter_log_events(self, log_group_name, log_stream_names, start_time,
                                      end_time, limit, next_token, filter_pattern, interleaved):
            dropped = _dropped_event(self, next_token)
            listed = [name for name in self.streams
                      if not log_stream_names or name in log_stream_names]
            if dropped is None or dropped[0] not in listed:
                return filter_log_events(self, log_group_name, log_stream_names, start_time,
                                         end_time, limit, next_token, filter_pattern,
                                         interleaved)
            stream, oldest_dropped = dropped
            # Every event, then the page from where the dropped one was, as moto pages.
            events, _, searched = filter_log_events(
                self, log_group_name, log_stream_names, start_time, end_time, 1 << 62, None,
                filter_pattern, interleaved)
            later = set(listed[listed.index(stream):])

            def resumes(event) -> bool:
                # not one dropped meanwhile: a trim records its drop before its events go
                if _drop_of(self.streams.get(event["logStreamName"]),
                            int(event["eventId"])) is not None:
                    return False
                if interleaved:
                    return event["timestamp"] >= oldest_dropped
                return event["logStreamName"] in later

            first = next((index for index, event in enumerate(events) if resumes(event)),
                         len(events))
            page = events[first:first + (limit or 10_000)]
            token = None
            if page and first + len(page) < len(events):
                token = f"{log_group_name}@{page[-1]['logStreamName']}@{page[-1]['eventId']}"
            return page, token, searched

        LogStream.put_log_events = locked_put_log_events
        LogStream._send_log_events = deferred_send_log_events
        LogStream.get_log_events = shifted_get_log_events
        LogGroup.filter_log_events = resumed_filter_log_events


def _dropped_event(group, token: str | None) -> tuple[str, int] | None:
    """(stream name, oldest timestamp of the drop) for a FilterLogEvents token naming a dropped
    event, or None."""
    parts = token.split("@") if token else []
    if len(parts) != 3 or parts[0] != group.name:
        return None
    if not (parts[2].isascii() and parts[2].isdigit()):
        return None
    drop = _drop_of(group.streams.get(parts[1]), int(parts[2]))
    return None if drop is None else (parts[1], drop[0])


def _drop_of(stream, event_id: int) -> tuple | None:
    """The drop of `stream` that took the event with this id, or None."""
    for drop in getattr(stream, "emulator_drops", None) or ():
        if len(drop) >= 5:
            if drop[3] <= event_id <= drop[4]:
                return drop
        else:  # saved before ids were recorded: below the oldest kept
            oldest_kept = getattr(stream, "emulator_oldest_kept_id", None)
            if oldest_kept is None or event_id < oldest_kept:
                return drop
    return None

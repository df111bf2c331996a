"""A moto log stream that drops its oldest events, with GetLogEvents' and FilterLogEvents'
page tokens still naming the events they named.

A stream the awslogs driver writes keeps only its newest events (engine/task_log_shipper.py).
moto's GetLogEvents tokens are positions in the stream's events (`f/<index of the last event
given>`, `b/<index of the first>`): dropping the first d events moved every position by d, so a
follower holding nextForwardToken skipped d events, or got nothing and then missed new events
silently. The stream remembers each drop (how many events, their oldest and newest timestamps),
and its GetLogEvents takes tokens as positions counted from the stream's first event ever: a
token naming a dropped event reads on from the oldest kept. Positions count only the events in
the call's startTime..endTime, and a drop is counted whole if any of its events may be in it: a
drop straddling startTime makes a reader read some events again, never skip one.

A FilterLogEvents token names an event by id; one naming a dropped event ended the listing
(moto answers an unknown id with nothing): it reads on from the first kept event of that stream
(exactly so when streams are listed one after another, moto's default; interleaved, events of
other streams between the dropped one and that one are skipped).

A trim, moto's PutLogEvents into that stream (`stored_bytes +=`, `events +=`: an event list a
trim replaced meanwhile came back whole) and its GetLogEvents (tokens and events read together)
hold the stream's lock.
"""

from __future__ import annotations

import threading
import weakref

_installed = threading.Lock()
_done = False


# Beside the streams, not on them: persistence pickles moto's objects, and a lock cannot be.
_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_locks_made = threading.Lock()


def _lock(stream) -> threading.Lock:
    lock = _locks.get(stream)
    if lock is None:
        with _locks_made:
            lock = _locks.setdefault(stream, threading.Lock())
    return lock


def drop_oldest(stream, count: int) -> None:
    """Drop `stream`'s first `count` events (moto's LogStream), remembering the drop and the id
    of its oldest kept event."""
    with _lock(stream):
        kept = stream.events[count:]
        if len(kept) == len(stream.events):
            return
        stamps = [event.timestamp for event in stream.events[:count]]
        # New lists: a FilterLogEvents reading the old ones meanwhile reads them whole.
        stream.events = kept
        stream.stored_bytes = sum(len(event.message) for event in kept)  # moto's measure
        # One entry a drop, and a drop is a quarter of what a stream keeps (the shipper's).
        stream.emulator_drops = getattr(stream, "emulator_drops", []) + [
            (min(stamps), max(stamps), len(stamps))]
        stream.emulator_oldest_kept_id = kept[0].event_id if kept else None


def _dropped(stream, start_time, end_time) -> int:
    """How many dropped events count in positions of GetLogEvents over start..end (moto's
    bounds: 0 or None is none); a drop with any timestamp in them counts whole."""
    return sum(count for oldest, newest, count in getattr(stream, "emulator_drops", ())
               if (not start_time or newest >= start_time)
               and (not end_time or oldest <= end_time))


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


def install() -> None:
    """Wrap moto's LogStream and LogGroup (once per process: moto's classes are global)."""
    global _done
    with _installed:
        if _done:
            return
        from moto.logs.models import LogGroup, LogStream

        put_log_events = LogStream.put_log_events
        get_log_events = LogStream.get_log_events
        filter_log_events = LogGroup.filter_log_events

        def locked_put_log_events(self, log_events):
            with _lock(self):
                return put_log_events(self, log_events)

        def shifted_get_log_events(self, start_time, end_time, limit, next_token,
                                   start_from_head):
            with _lock(self):
                dropped = _dropped(self, start_time, end_time)
                events, backward, forward = get_log_events(
                    self, start_time, end_time, limit, _shift_token(next_token, -dropped),
                    start_from_head)
            return events, _shift_token(backward, dropped), _shift_token(forward, dropped)

        def resumed_filter_log_events(self, log_group_name, log_stream_names, start_time,
                                      end_time, limit, next_token, filter_pattern, interleaved):
            stream = _dropped_event_stream(self, next_token)
            if stream is None:
                return filter_log_events(self, log_group_name, log_stream_names, start_time,
                                         end_time, limit, next_token, filter_pattern,
                                         interleaved)
            # Every event, then the page from the stream's first kept one, as moto pages.
            events, _, searched = filter_log_events(
                self, log_group_name, log_stream_names, start_time, end_time, 1 << 62, None,
                filter_pattern, interleaved)
            first = next((index for index, event in enumerate(events)
                          if event["logStreamName"] == stream), len(events))
            page = events[first:first + (limit or 10_000)]
            token = None
            if page and first + len(page) < len(events):
                token = f"{log_group_name}@{page[-1]['logStreamName']}@{page[-1]['eventId']}"
            return page, token, searched

        LogStream.put_log_events = locked_put_log_events
        LogStream.get_log_events = shifted_get_log_events
        LogGroup.filter_log_events = resumed_filter_log_events
        _done = True


def _dropped_event_stream(group, token: str | None) -> str | None:
    """The name of the stream whose dropped event a FilterLogEvents token names, or None."""
    parts = token.split("@") if token else []
    if len(parts) != 3 or parts[0] != group.name or not parts[2].isdigit():
        return None
    stream = group.streams.get(parts[1])
    oldest_kept = getattr(stream, "emulator_oldest_kept_id", None)
    if not getattr(stream, "emulator_drops", None):
        return None
    if oldest_kept is not None and int(parts[2]) >= oldest_kept:
        return None
    return parts[1]

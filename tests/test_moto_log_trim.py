"""emulator/aws/moto_log_trim.py in-process, against moto's logs backend: page tokens across
drops, restores and subscription deliveries."""

import threading
import time
import uuid

import pytest
from moto.logs.models import LogEvent, logs_backends

from emulator.aws import moto_log_trim

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def backend():
    moto_log_trim.install()
    return logs_backends[ACCOUNT][REGION]


def _group(backend, *streams):
    name = f"trim-{uuid.uuid4().hex[:8]}"
    backend.create_log_group(name, {})
    for stream in streams:
        backend.create_log_stream(name, stream)
    return name


def _put(backend, group, stream, messages, timestamps):
    backend.put_log_events(group, stream, [{"timestamp": stamp, "message": message}
                                           for message, stamp in zip(messages, timestamps)])


def _filter_all(backend, group, token, limit, **options):
    seen = []
    for _ in range(100):
        events, token, _ = backend.filter_log_events(
            group, options.get("streams"), None, None, limit, token,
            options.get("pattern", ""), options.get("interleaved", False))
        seen += [event["message"] for event in events]
        if not token:
            return seen
    raise AssertionError(f"still paging after 100 pages: {seen[-10:]}")


def _deliver_into(backend, source, target):
    arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{target}:*"
    backend.put_subscription_filter(source, "f", "", arn, "")


def _put_in_thread(backend, group, outcome):
    def put():
        try:
            _put(backend, group, "s", ["x"], [int(time.time() * 1000)])
            outcome.append("ok")
        except RecursionError:
            outcome.append("RecursionError")
    thread = threading.Thread(target=put, daemon=True)
    thread.start()
    return thread


def test_a_subscription_delivering_into_its_own_group_answers_as_moto_does(backend):
    # The stream's lock was held across moto's delivery to subscription filters: delivering
    # into the same stream waited on that lock forever (plain moto recursed until
    # RecursionError).
    group = _group(backend, "s")
    _deliver_into(backend, group, group)
    outcome = []
    thread = _put_in_thread(backend, group, outcome)
    thread.join(60)
    assert not thread.is_alive() and outcome == ["RecursionError"]


def test_two_groups_delivering_into_each_other_from_two_threads_never_wait_on_each_other(
        backend):
    first, second = _group(backend, "s"), _group(backend, "s")
    _deliver_into(backend, first, second)
    _deliver_into(backend, second, first)
    outcome = []
    threads = [_put_in_thread(backend, first, outcome), _put_in_thread(backend, second, outcome)]
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert outcome == ["RecursionError", "RecursionError"]


def test_a_subscription_still_delivers_what_is_put(backend):
    source, target = _group(backend, "s"), _group(backend, "s")
    _deliver_into(backend, source, target)
    _put(backend, source, "s", ["one", "two"], [int(time.time() * 1000)] * 2)
    assert [event.message for event in backend.groups[target].streams["s"].events] == [
        "one", "two"]


def test_filter_tokens_read_on_after_moto_event_ids_start_again(backend, monkeypatch):
    # A restore leaves moto's event id counter at 0 (a class attribute, not saved): new
    # events got ids below the dropped ones, their tokens were taken for dropped events, and
    # FilterLogEvents paged forever.
    group = _group(backend, "a")
    now = int(time.time() * 1000)
    _put(backend, group, "a", [f"pre{index}" for index in range(50)], [now] * 50)
    moto_log_trim.drop_oldest(backend.groups[group].streams["a"], 40)
    monkeypatch.setattr(LogEvent, "_event_id", 0)  # as after a restore
    _put(backend, group, "a", [f"post{index}" for index in range(5)], [now + 1] * 5)
    assert _filter_all(backend, group, None, 4) == (
        [f"pre{index}" for index in range(40, 50)] + [f"post{index}" for index in range(5)])


def test_get_backward_across_a_drop_cut_by_start_time_skips_nothing(backend):
    # A drop only partly inside startTime..endTime was counted whole: paging backward, the
    # reader skipped kept events it had never read.
    group = _group(backend, "s")
    base = int(time.time() * 1000) - 10_000
    _put(backend, group, "s", [str(index) for index in range(10)],
         [base + index for index in range(10)])
    stream = backend.groups[group].streams["s"]
    events, token, _ = stream.get_log_events(base + 3, None, 2, None, False)
    read = [event["message"] for event in events]
    assert read == ["8", "9"]
    moto_log_trim.drop_oldest(stream, 5)  # 0..4; 3 and 4 were in the window
    for _ in range(20):
        events, token, _ = stream.get_log_events(base + 3, None, 2, token, False)
        if not events:
            break
        read += [event["message"] for event in events]
    assert {"5", "6", "7", "8", "9"} <= set(read)


def test_get_forward_across_a_drop_cut_by_start_time_skips_nothing(backend):
    group = _group(backend, "s")
    base = int(time.time() * 1000) - 10_000
    _put(backend, group, "s", [str(index) for index in range(10)],
         [base + index for index in range(10)])
    stream = backend.groups[group].streams["s"]
    events, _, token = stream.get_log_events(base + 3, None, 2, None, True)
    read = [event["message"] for event in events]
    moto_log_trim.drop_oldest(stream, 5)
    for _ in range(20):
        events, _, token = stream.get_log_events(base + 3, None, 2, token, True)
        if not events:
            break
        read += [event["message"] for event in events]
    assert read[:2] == ["3", "4"] and {"5", "6", "7", "8", "9"} <= set(read)


def test_a_filter_token_naming_a_dropped_event_goes_on_to_the_next_stream(backend):
    # With no matching kept event in the token's stream, the listing ended.
    group = _group(backend, "a", "z")
    now = int(time.time() * 1000)
    _put(backend, group, "a", [f"info {index}" for index in range(10)],
         [now + index for index in range(10)])
    _put(backend, group, "z", [f"ERROR {index}" for index in range(3)],
         [now + index for index in range(3)])
    _, token, _ = backend.filter_log_events(group, None, None, None, 2, None, "", False)
    moto_log_trim.drop_oldest(backend.groups[group].streams["a"], 5)
    assert _filter_all(backend, group, token, 2, pattern="ERROR") == [
        "ERROR 0", "ERROR 1", "ERROR 2"]


def test_an_interleaved_filter_token_naming_a_dropped_event_skips_no_other_stream(backend):
    # It went on from the first kept event of the token's stream, skipping other streams'
    # events between.
    group = _group(backend, "a", "z")
    base = int(time.time() * 1000) - 10_000
    _put(backend, group, "a", [f"a{index}" for index in range(5)],
         [base + 2 * index for index in range(5)])
    _put(backend, group, "z", [f"z{index}" for index in range(5)],
         [base + 2 * index + 1 for index in range(5)])
    events, token, _ = backend.filter_log_events(group, None, None, None, 3, None, "", True)
    assert [event["message"] for event in events] == ["a0", "z0", "a1"]
    moto_log_trim.drop_oldest(backend.groups[group].streams["a"], 3)
    rest = _filter_all(backend, group, token, 3, interleaved=True)
    assert {"z1", "z2", "a3", "z3", "a4", "z4"} <= set(rest)


def test_a_stream_that_never_dropped_answers_with_motos_own_tokens(backend):
    group = _group(backend, "s")
    stream = backend.groups[group].streams["s"]
    # moto answers a token past the end of an empty stream with index -1, as it formats it
    assert stream.get_log_events(None, None, None, "f/5", True)[1:] == (
        f"b/{-1:056d}", f"f/{-1:056d}")


def test_a_token_with_a_non_ascii_digit_is_answered_as_moto_answers_it(backend):
    group = _group(backend, "s")
    _put(backend, group, "s", ["m"] * 3, [int(time.time() * 1000)] * 3)
    moto_log_trim.drop_oldest(backend.groups[group].streams["s"], 1)
    assert backend.filter_log_events(group, None, None, None, 2, f"{group}@s@\u00b2", "",
                                     False)[:2] == ([], None)


def test_a_drop_is_recorded_before_its_events_go(backend, monkeypatch):
    # FilterLogEvents reads without the lock: between the two it must see the drop, or a
    # token naming an event just dropped ended the listing.
    from moto.logs.models import LogStream

    group = _group(backend, "s")
    now = int(time.time() * 1000)
    _put(backend, group, "s", [f"m{index}" for index in range(6)], [now + i for i in range(6)])
    stream = backend.groups[group].streams["s"]
    _, token, _ = backend.filter_log_events(group, None, None, None, 2, None, "", False)
    seen_between = []

    def watched(self, name, value):
        object.__setattr__(self, name, value)
        if self is stream and name in ("events", "emulator_drops"):
            seen_between.append(_filter_all(backend, group, token, 2))

    monkeypatch.setattr(LogStream, "__setattr__", watched)
    moto_log_trim.drop_oldest(stream, 3)
    monkeypatch.undo()
    assert len(seen_between) == 2
    assert all(seen[-3:] == ["m3", "m4", "m5"] for seen in seen_between), seen_between


def test_filter_tokens_read_on_after_a_restore_of_the_saved_logs(backend):
    # Through persistence's own capture and restore (moto's event id counter is not saved).
    from emulator.persistence import moto_parts

    group = _group(backend, "a")
    now = int(time.time() * 1000)
    _put(backend, group, "a", [f"pre{index}" for index in range(50)], [now] * 50)
    moto_log_trim.drop_oldest(backend.groups[group].streams["a"], 40)
    name = next(part for part in moto_parts.part_names() if "logs" in part)
    saved, counter = moto_parts.capture(name), LogEvent._event_id
    try:
        LogEvent._event_id = 0  # a new process
        moto_parts.restore(saved)
        _put(backend, group, "a", [f"post{index}" for index in range(5)], [now + 1] * 5)
        assert _filter_all(backend, group, None, 4) == (
            [f"pre{index}" for index in range(40, 50)] + [f"post{index}" for index in range(5)])
    finally:
        LogEvent._event_id = max(LogEvent._event_id, counter)


def test_a_streams_drops_are_merged_beyond_a_bound(backend):
    group = _group(backend, "s")
    count = moto_log_trim.MAX_DROPS + 20
    now = int(time.time() * 1000)
    _put(backend, group, "s", [f"m{index}" for index in range(count + 5)],
         [now + index for index in range(count + 5)])
    stream = backend.groups[group].streams["s"]
    _, token, _ = backend.filter_log_events(group, None, None, None, 1, None, "", False)
    for _ in range(count):
        moto_log_trim.drop_oldest(stream, 1)
    drops = stream.emulator_drops
    assert len(drops) == moto_log_trim.MAX_DROPS
    assert sum(drop[2] for drop in drops) == count
    assert drops[0][:3] == (now, now + 20, 21)
    assert _filter_all(backend, group, token, 2) == [f"m{index}" for index in range(count,
                                                                                   count + 5)]


def test_moto_methods_of_another_shape_are_left_unwrapped(caplog):
    class Changed:
        def put_log_events(self, log_events, sequence_token):
            pass

    class Group:
        def filter_log_events(self):
            pass

    assert not moto_log_trim._signatures_match({"LogStream": Changed, "LogGroup": Group})
    assert "put_log_events" in caplog.text

"""The names tasks give (an image's registry) are resolved within bounds, as moto's deliveries'
are (access/name_resolution.py): a slow resolver or a name of many addresses cannot hold the
request that names it, nor be taken for a name that reaches elsewhere, nor let one task's names
refuse another task's."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from functools import partial
from types import SimpleNamespace

import pytest

from emulator.access import host_access, host_addresses, name_resolution
from emulator.aws import moto_containment
from emulator.engine.task_images import ImageChecks, Throttled


@pytest.fixture
def names(monkeypatch):
    """getaddrinfo answering for made-up names (the others as usual): `slow.test` (and any name
    beginning `slow`) once `answer` is set, `many.test` with 17 addresses, `sixteen.test` with
    16, the last the loopback, `other.test` elsewhere, `nowhere.test` nowhere, `flaky.test`
    failing as a name server does (EAI_AGAIN, then EAI_FAIL) before it answers the loopback."""
    real = socket.getaddrinfo
    answer, entered = threading.Event(), threading.Event()
    flaky = [socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
             socket.gaierror(socket.EAI_FAIL, "Non-recoverable failure in name resolution")]

    def getaddrinfo(host, port, *args, **kwargs):
        if host.startswith("slow"):
            entered.set()
            answer.wait(10)
            return real("192.0.2.1", port, *args, **kwargs)
        if host == "flaky.test":
            if flaky:
                raise flaky.pop(0)
            return real("127.0.0.1", port, *args, **kwargs)
        if host == "other.test":
            return real("198.51.100.7", port, *args, **kwargs)
        if host == "nowhere.test":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        if host in ("many.test", "sixteen.test"):
            addresses = ([f"10.1.0.{n}" for n in range(17)] if host == "many.test"
                         else [f"10.1.0.{n}" for n in range(15)] + ["127.0.0.1"])
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))
                    for address in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(host_addresses.RESOLVER, "seconds", 0.2)
    yield SimpleNamespace(answer=answer, entered=entered)
    answer.set()  # the stalled lookups end, and give their slots back for the next test
    for thread in threading.enumerate():
        if thread.name in ("task-name-lookup", "image-check", "test-lookup"):
            thread.join(5)


def test_a_registry_name_is_resolved_in_bounded_time_to_few_addresses(names):
    assert (name_resolution.SECONDS, name_resolution.MAX_ADDRESSES) == (5.0, 16)
    reaches = host_addresses.name_reaches_this_host
    started = time.monotonic()
    with pytest.raises(name_resolution.Unresolved, match="slow.test was not resolved in 0.2 s"):
        reaches("slow.test")
    assert time.monotonic() - started < 1
    with pytest.raises(name_resolution.Unresolved,
                       match="many.test resolves to 17 addresses, more than 16"):
        reaches("many.test", 443)
    assert reaches("sixteen.test") == ["127.0.0.1"]  # every one of them checked
    assert reaches("a..b") == [] and reaches("192.0.2.7") == []  # no name; an address: no lookup
    for _ in range(host_addresses.RESOLVER.lookups - 1):  # with the first: every lookup stalled
        with pytest.raises(name_resolution.Unresolved, match="not resolved"):
            reaches("slow.test")
    with pytest.raises(name_resolution.Unresolved, match="4 names are still being resolved"):
        reaches("example.com")
    # moto's deliveries have lookups of their own, which the tasks' stalled names do not hold.
    assert len(moto_containment.RESOLVER.addresses("sixteen.test", 80)) == 16


def _wired(checks):
    """engine_reasons for a task's call as production makes it: EngineView.resolve as app.py
    wires it, bound to the caller as rights.py binds it."""
    view = host_access.EngineView(
        foreign_volume=lambda n, a: None, own_registry=lambda i: False,
        unserved_image=lambda i, caller=None: None, resolve=host_access.resolved_under(checks))

    def reasons(caller, *images):
        bound = replace(view, resolve=partial(view.resolve, caller=caller))
        return host_access.engine_reasons({"containerDefinitions": [
            {"name": f"c{n}", "image": image} for n, image in enumerate(images)]}, bound)
    return reasons


def _outcome(call, *args):
    try:
        return call(*args)
    except Exception as error:  # noqa: BLE001 - what the test looks at
        return error


def test_one_tasks_silent_registry_names_do_not_refuse_another_tasks(names):
    """A task naming registries whose name servers never answer holds one check, its own (the
    image checks' limits: engine/task_images.py); the lookups it stalled do not take the places
    another task's names are resolved in."""
    checks = ImageChecks(SimpleNamespace(engines={}), deadline=2.0)
    reasons = _wired(checks)
    first = []
    for n in range(name_resolution.LOOKUPS):
        first.append(_outcome(reasons, "task-1", f"slow{n}.test/app:1"))
        time.sleep(0.3)  # past the lookup's own time (0.2 s here), were it bounded apart
    assert reasons("task-2", "other.test/app:1") == []
    assert first[0] == ["container 'c0' pulls its image from a registry whose name did not "
                        "resolve in time; try again"]
    assert all(isinstance(outcome, Throttled) for outcome in first[1:]), first
    assert "an image this caller named before is still being checked" in str(first[1])


def test_a_task_naming_a_registry_of_too_many_addresses_is_refused_for_good(names):
    """More than 16 addresses is the name's, not a passing state: the refusal does not say "try
    again", and the task's other containers are still checked."""
    reasons = _wired(ImageChecks(SimpleNamespace(engines={}), deadline=5.0))
    assert reasons("task-1", "many.test/app:1", "sixteen.test:5000/side:1") == [
        "container 'c0' pulls its image from a registry whose name has too many addresses to "
        "check (many.test resolves to 17 addresses, more than 16)",
        "container 'c1' pulls its image from sixteen.test:5000, a registry on the emulator's "
        "host"]


def test_a_name_servers_failure_is_not_taken_for_a_name_that_is_elsewhere(names):
    """EAI_AGAIN and EAI_FAIL say nothing about where a name goes: refused to be tried again,
    and not kept as "not this host" for the next minute."""
    reasons = _wired(ImageChecks(SimpleNamespace(engines={}), deadline=5.0))
    for _ in range(2):
        (reason,) = reasons("task-1", "flaky.test/app:1")
        assert reason.startswith("container 'c0' pulls its image from a registry whose "
                                 "addresses could not be checked (flaky.test: ")
        assert reason.endswith("; try again")
    assert reasons("task-1", "flaky.test/app:1") == [
        "container 'c0' pulls its image from flaky.test, a registry on the emulator's host"]
    assert reasons("task-1", "nowhere.test/app:1") == []  # no such name: not this host


def test_only_lookups_past_their_time_are_counted_against_the_limit(names):
    """A lookup within its time holds no place: a second name is looked up beside it at once.
    Only those that stalled past their time count, and the place comes back as each ends."""
    resolver = name_resolution.Resolver(lookups=1, thread_name="test-lookup")
    resolver.seconds = 1.0
    waiting = threading.Thread(target=_outcome, args=(resolver.addresses, "slow.test", 80))
    waiting.start()
    assert names.entered.wait(5)
    assert len(resolver.addresses("sixteen.test", 80)) == 16
    waiting.join(10)  # its caller gave up: the lookup goes on, past its time
    started = time.monotonic()
    with pytest.raises(name_resolution.Unresolved,
                       match="sixteen.test: 1 names are still being resolved"):
        resolver.addresses("sixteen.test", 80)
    assert time.monotonic() - started < 0.5  # refused at once, not after a wait
    names.answer.set()
    from tests.waiting import wait_for

    assert len(wait_for(lambda: _outcome(resolver.addresses, "sixteen.test", 80),
                        lambda found: isinstance(found, list), timeout=5)) == 16


def test_an_address_literal_is_told_apart_in_one_place():
    assert all(map(name_resolution.is_address, ("192.0.2.1", "::1", "fe80::1%eth0")))
    assert not any(map(name_resolution.is_address, ("example.com", "1.2.3", "", "[::1]")))

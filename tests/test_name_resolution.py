"""The names tasks give (an image's registry) are resolved within bounds, as moto's deliveries'
are (access/name_resolution.py): a slow resolver or a name of many addresses cannot hold the
request that names it, nor be taken for a name that reaches elsewhere."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from emulator.access import host_access, host_addresses, name_resolution
from emulator.aws import moto_containment


@pytest.fixture
def names(monkeypatch):
    """getaddrinfo answering for made-up names (the others as usual): `slow.test` once `answer`
    is set, `many.test` with 17 addresses, `sixteen.test` with 16, the last the loopback."""
    real = socket.getaddrinfo
    answer = threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "slow.test":
            answer.wait(10)
            return real("192.0.2.1", port, *args, **kwargs)
        if host in ("many.test", "sixteen.test"):
            addresses = ([f"10.1.0.{n}" for n in range(17)] if host == "many.test"
                         else [f"10.1.0.{n}" for n in range(15)] + ["127.0.0.1"])
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))
                    for address in addresses]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(host_addresses.RESOLVER, "seconds", 0.2)
    yield answer
    answer.set()  # the stalled lookups end, and give their slots back for the next test
    for thread in threading.enumerate():
        if thread.name == "task-name-lookup":
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


def test_a_task_naming_a_registry_past_the_bounds_is_refused_and_told_why(names):
    view = host_access.EngineView(foreign_volume=lambda n, a: None, own_registry=lambda i: False,
                                  unserved_image=lambda i: None)
    spec = {"containerDefinitions": [{"name": "app", "image": "many.test/app:1"},
                                     {"name": "side", "image": "sixteen.test:5000/side:1"}]}
    assert host_access.engine_reasons(spec, view) == [
        "container 'app' pulls its image from a registry whose addresses could not be checked "
        "(many.test resolves to 17 addresses, more than 16); try again"]
    del spec["containerDefinitions"][0]
    assert host_access.engine_reasons(spec, view) == [
        "container 'side' pulls its image from sixteen.test:5000, a registry on the emulator's "
        "host"]

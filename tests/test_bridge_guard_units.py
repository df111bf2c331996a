"""The guard's bookkeeping without a kernel: the transactions admit and release send, the reasons
make_guard gives, and the host facts it reads (bridge_guard.py, bridge_ports.py)."""

from __future__ import annotations

import threading

import pytest

from emulator.runtime import bridge_guard, bridge_ports
from emulator.runtime.bridge_guard import BridgeGuard, GuardError, make_guard
from emulator.runtime.nft import NftError

TASK_A = ("/var/run/docker/netns/a", "02:42:AC:11:00:02", "172.17.0.2")


class Recorder:
    """A Context that records each transaction (and can refuse the next)."""

    def __init__(self):
        self.runs: list[str] = []
        self.refuse = False
        self.closed = False

    def run(self, commands: str) -> str:
        if self.refuse:
            raise NftError("Error: Could not process rule: Operation not permitted")
        self.runs.append(commands)
        return ""

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def ports(monkeypatch):
    """The port each sandbox key leads to: sandbox key -> interface index."""
    found = {TASK_A[0]: 44}
    monkeypatch.setattr(bridge_ports, "set_no_linklocal_learn", lambda bridge: None)
    monkeypatch.setattr(bridge_ports, "pin_address", lambda bridge: False)
    monkeypatch.setattr(bridge_ports, "bridge_index", lambda bridge: 5)
    monkeypatch.setattr(bridge_ports, "forget_neighbour", lambda bridge, ipv4: None)
    monkeypatch.setattr(bridge_ports, "is_port", lambda bridge, index: index in found.values())
    monkeypatch.setattr(bridge_ports, "list_ports",
                        lambda bridge: [(index, f"veth{index}", 1) for index in found.values()])

    def port_into(bridge, sandbox_key):
        if sandbox_key not in found:
            raise bridge_ports.PortNotFound("0 ports")
        return found[sandbox_key], f"veth{found[sandbox_key]}"

    monkeypatch.setattr(bridge_ports, "port_into", port_into)
    return found


@pytest.fixture
def guard(ports):
    return BridgeGuard(Recorder(), "ecs_emulator_guard_1_2_docker0", "docker0", scoped=False)


def test_admit_adds_every_element_in_one_transaction(guard):
    guard.admit(*TASK_A)
    (transaction,) = guard._context.runs
    table = "bridge ecs_emulator_guard_1_2_docker0"
    assert transaction.splitlines() == [
        f"add element {table} ports {{ 44 }}",
        f"add element {table} port_mac {{ 44 . 02:42:ac:11:00:02 }}",
        f"add element {table} macs {{ 02:42:ac:11:00:02 }}",
        f"add element {table} ips {{ 172.17.0.2 }}",
        f"add element {table} ip_mac {{ 172.17.0.2 . 02:42:ac:11:00:02 }}",
        "add element ip ecs_emulator_guard_1_2_docker0 ports { 44 }",
        "add element ip ecs_emulator_guard_1_2_docker0 ips { 172.17.0.2 }",
    ]
    assert guard.guarded("172.17.0.2") and not guard.guarded("172.17.0.3")


def test_a_new_task_at_an_admitted_address_replaces_the_old_one_atomically(guard, ports):
    guard.admit(*TASK_A)
    ports["/var/run/docker/netns/b"] = 45
    guard.admit("/var/run/docker/netns/b", "02:42:ac:11:00:09", "172.17.0.2")
    transaction = guard._context.runs[-1].splitlines()
    assert transaction[0].startswith("delete element") and "{ 44 }" in transaction[0]
    assert all(line.startswith("delete") for line in transaction[:7])
    assert all(line.startswith("add") for line in transaction[7:]) and len(transaction) == 14
    guard.release("02:42:ac:11:00:02", "172.17.0.2")  # the old task's release: not the new one's
    assert guard.guarded("172.17.0.2") and len(guard._context.runs) == 2


def test_the_admitted_are_told(guard, ports):
    assert guard.admitted() == {}
    guard.admit(*TASK_A)
    assert guard.admitted() == {"172.17.0.2": "02:42:ac:11:00:02"}
    ports["/var/run/docker/netns/b"] = 45
    guard.admit("/var/run/docker/netns/b", "02:42:ac:11:00:09", "172.17.0.2")
    assert guard.admitted() == {"172.17.0.2": "02:42:ac:11:00:09"}  # the newer task's
    guard.release("02:42:ac:11:00:09", "172.17.0.2")
    assert guard.admitted() == {}


def test_a_port_the_kernel_deletes_is_released_at_once_without_the_callers_word(guard, ports):
    """Docker deletes a stopped holder's port before it gives the address to the next
    container, maybe another emulator's, which this guard would cut off: the port's going
    releases the admission (port_watch.py tells of it), whatever the caller says later."""
    guard.admit(*TASK_A)
    ports["/var/run/docker/netns/b"] = 45
    guard.admit("/var/run/docker/netns/b", "02:42:ac:11:00:03", "172.17.0.3")
    assert guard.ports_left({7, 8}) and len(guard._context.runs) == 2  # not ours: nothing sent
    # A notice is asked again: one from before a port joined, read late, releases nothing
    assert guard.ports_left({44, 45}) and len(guard._context.runs) == 2
    assert guard.guarded("172.17.0.2") and guard.guarded("172.17.0.3")
    del ports[TASK_A[0]]  # its port is deleted
    assert guard.ports_left({44})
    assert guard._context.runs[-1].splitlines()[0] == (
        "delete element bridge ecs_emulator_guard_1_2_docker0 ports { 44 }")
    assert not guard.guarded("172.17.0.2") and guard.guarded("172.17.0.3")
    guard.release("02:42:ac:11:00:02", "172.17.0.2")  # Docker's word, later: nothing to send
    assert len(guard._context.runs) == 3
    del ports["/var/run/docker/netns/b"]  # notifications lost: the bridge's ports are read
    assert guard.ports_left(None)
    assert guard.admitted() == {} and "{ 45 }" in guard._context.runs[-1]
    guard.close()
    assert guard.ports_left({44}) is False  # the watch ends with the guard


def test_a_port_deleted_as_it_is_admitted_is_not_held(guard, monkeypatch):
    """The kernel told of the deletion before the elements landed (too early to release them):
    the admission checks the port after adding them, and takes them back."""
    monkeypatch.setattr(bridge_ports, "is_port", lambda bridge, index: False)
    with pytest.raises(GuardError, match="went as it was admitted"):
        guard.admit(*TASK_A)
    assert [run.split()[0] for run in guard._context.runs] == ["add", "delete"]
    assert not guard.guarded(TASK_A[2]) and guard.admitted() == {}


def test_a_refused_admission_is_not_held(guard, monkeypatch):
    def stuck(bridge, ipv4):
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(bridge_ports, "forget_neighbour", stuck)
    with pytest.raises(GuardError, match="ARP entry"):
        guard.admit(*TASK_A)
    assert not guard.guarded(TASK_A[2]) and guard.admitted() == {}


def test_release_is_idempotent_and_sends_nothing_for_the_unknown(guard):
    guard.admit(*TASK_A)
    guard.release("02:42:ac:11:00:02", "172.17.0.2")
    guard.release("02:42:ac:11:00:02", "172.17.0.2")
    guard.release("02:42:ac:11:00:07", "172.17.0.7")
    assert [run.split()[0] for run in guard._context.runs] == ["add", "delete"]
    assert not guard.guarded("172.17.0.2")


def test_a_refused_admission_is_not_guarded(guard):
    guard._context.refuse = True
    with pytest.raises(GuardError, match="nftables refused"):
        guard.admit(*TASK_A)
    assert not guard.guarded(TASK_A[2])


def test_admit_refuses_what_it_cannot_pin(guard):
    with pytest.raises(GuardError, match="no port"):
        guard.admit("/var/run/docker/netns/unknown", "02:42:ac:11:00:02", "172.17.0.2")
    for mac, ipv4 in (("02:42:ac:11:00", "172.17.0.2"), ("02:42:ac:11:00:02", "172.17.0.256"),
                      ("02:42:ac:11:00:02", "172.17.0.2 } ; flush ruleset")):
        with pytest.raises(GuardError, match="not a"):
            guard.admit(TASK_A[0], mac, ipv4)
    assert guard._context.runs == []


def test_close_removes_the_table_once_and_frees_the_context(guard):
    guard.admit(*TASK_A)
    guard.close()
    guard.close()
    assert guard._context.runs[-1].splitlines() == [
        "delete table bridge ecs_emulator_guard_1_2_docker0",
        "delete table ip ecs_emulator_guard_1_2_docker0"]
    assert guard._context.closed and not guard.guarded(TASK_A[2]) and guard.admitted() == {}
    with pytest.raises(GuardError, match="closed"):
        guard.admit(*TASK_A)


def test_concurrent_admissions_each_land_once(guard, ports):
    for n in range(20):
        ports[f"/ns/{n}"] = 100 + n
    threads = [threading.Thread(target=guard.admit,
                                args=(f"/ns/{n}", f"02:42:ac:11:01:{n:02x}", f"172.17.1.{n}"))
               for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(guard._context.runs) == 20
    assert all(guard.guarded(f"172.17.1.{n}") for n in range(20))


def test_rules_fall_back_unscoped_where_the_kernel_cannot_match_a_bridge():
    class NoBridgeMeta(Recorder):
        def run(self, commands):
            if "ibrname" in commands:
                raise NftError("Error: Could not process rule: Operation not supported")
            return super().run(commands)

    context = NoBridgeMeta()
    assert bridge_guard._make_table(context, "t", "docker0", "172.17.0.1") is False
    assert "ibrname" not in context.runs[0] and "table bridge t" in context.runs[0]
    scoped = Recorder()
    assert bridge_guard._make_table(scoped, "t", "docker0", "172.17.0.1") is True
    assert 'meta ibrname "docker0" jump source' in scoped.runs[0]
    assert 'meta obrname "docker0" jump egress' in scoped.runs[0]


def test_the_ruleset_is_complete_text(ports):
    text = bridge_guard.RULES.format(table="t", bridge="docker0",
                                     reserved="172.17.0.1, 169.254.170.2",
                                     scope_in="", scope_out="")
    assert "{ 172.17.0.1, 169.254.170.2 }" in text and "{table}" not in text
    assert "iif @ports goto from_task" in text  # jump would fall back into the stranger rules
    for hook in ("prerouting", "forward", "output"):
        assert f"hook {hook} priority filter" in text
    assert "table ip t" in text and "ether daddr 01:80:c2:00:00:00-01:80:c2:00:00:0f drop" in text
    assert "ip daddr @ips drop" in text.split("chain source")[1].split("chain from_task")[0]
    assert 'iifname "docker0" oifname "docker0" ip saddr @ips ip daddr != @ips drop' in text
    assert 'ip saddr @ips iif != @ports iifname != "docker0" drop' in text


@pytest.mark.parametrize("bridge, gateway, link_local, reason", [
    ("docker0; flush ruleset", "172.17.0.1", "169.254.170.2", "not a bridge name"),
    ("docker0", "172.17.0.300", "169.254.170.2", "not an IPv4 address"),
    ("docker0", "172.17.0.1", "fe80::1", "not an IPv4 address"),
    ("nosuchbridge0", "172.17.0.1", "169.254.170.2", "no bridge nosuchbridge0"),
])
def test_make_guard_says_why_not(monkeypatch, bridge, gateway, link_local, reason):
    monkeypatch.setattr(bridge_guard.os, "geteuid", lambda: 0)
    made = make_guard(bridge, gateway, link_local)
    assert isinstance(made, str) and reason in made


def test_make_guard_needs_root(monkeypatch):
    monkeypatch.setattr(bridge_guard.os, "geteuid", lambda: 1000)
    assert "root" in make_guard("docker0", "172.17.0.1")


def test_make_guard_without_libnftables(monkeypatch):
    monkeypatch.setattr(bridge_guard.os, "geteuid", lambda: 0)
    monkeypatch.setattr(bridge_ports, "bridge_index", lambda bridge: 5)
    monkeypatch.setattr(bridge_ports, "has_routable_ipv6", lambda bridge: False)

    def no_library():
        raise OSError("libnftables.so.1: cannot open shared object file")

    monkeypatch.setattr(bridge_guard, "Context", no_library)
    assert "no libnftables" in make_guard("docker0", "172.17.0.1")


def test_routable_ipv6_is_told_from_link_local(tmp_path):
    rows = tmp_path / "if_inet6"
    rows.write_text("fe800000000000000042acfffe110001 05 40 20 80  docker0\n"
                    "fd000000000000000000000000000001 07 40 00 80 br-6\n")
    assert not bridge_ports.has_routable_ipv6("docker0", str(rows))
    assert bridge_ports.has_routable_ipv6("br-6", str(rows))
    assert not bridge_ports.has_routable_ipv6("docker0", str(tmp_path / "absent"))


def test_table_names_carry_pid_and_start_for_the_sweep():
    name = bridge_guard.table_name("docker0", 4242)
    found = bridge_guard._TABLE.findall(f"table bridge {name}\ntable ip {name}\ntable ip other\n")
    assert found == [("bridge", name, "4242", found[0][3]), ("ip", name, "4242", found[0][3])]
    assert name.startswith(bridge_guard.TABLE_PREFIX + "4242_") and name.endswith("_docker0")


def test_link_notifications_tell_the_ports_that_went_or_left_the_bridge():
    """port_watch reads rtnetlink's link notifications: a deleted link, or one told with another
    master than the bridge (or none: a port taken off it), has left; one still on it has not,
    nor one the bridge's own notifications (AF_BRIDGE) speak of."""
    import struct

    from emulator import netlink
    from emulator.runtime import port_watch

    def message(kind, index, master=None, family=0):
        body = bridge_ports._IFINFO.pack(family, 1, index, 0, 0)
        if master is not None:
            body += netlink.attribute(bridge_ports.IFLA_MASTER, struct.pack("=I", master))
        return netlink.HEADER.pack(netlink.HEADER.size + len(body), kind, 0, 0, 0) + body

    data = (message(port_watch.RTM_DELLINK, 44) + message(bridge_ports.RTM_NEWLINK, 45, master=5)
            + message(bridge_ports.RTM_NEWLINK, 46, master=9)
            + message(bridge_ports.RTM_NEWLINK, 47) + message(netlink.NLMSG_DONE, 48)
            + message(port_watch.RTM_DELLINK, 49, family=7))  # AF_BRIDGE: a port's settings
    assert port_watch._left(data, bridge=5) == {44, 46, 47}


def test_a_watch_that_fails_is_made_again_and_the_bridge_read(monkeypatch):
    """An unexpected error of the link notifications' socket does not end the guard's watch
    for good: it is made again, the bridge's ports are read for what went meanwhile, and the
    watch ends when its guard closes."""
    from emulator.runtime import port_watch

    made, told = [], []

    class Events:
        def __init__(self):
            made.append(self)
            self.batches = [OSError("netlink went away")] if len(made) == 1 else [{44}]

        def left(self, bridge):
            if not self.batches:
                return set()
            batch = self.batches.pop(0)
            if isinstance(batch, Exception):
                raise batch
            return batch

        def close(self):
            pass

    def on_left(left):
        told.append(left)
        return {44} not in told  # the guard closes once the second watch told of port 44

    monkeypatch.setattr(port_watch, "LinkEvents", Events)
    monkeypatch.setattr(port_watch, "RETRY_S", 0.01)
    monkeypatch.setattr(bridge_ports, "bridge_index", lambda bridge: 5)
    thread = port_watch.watch("docker0", on_left)
    thread.join(timeout=10)
    assert not thread.is_alive() and len(made) == 2
    assert told[:2] == [set(), None] and told[-1] == {44}

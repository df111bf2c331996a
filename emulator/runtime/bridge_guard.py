"""The anti-spoofing filter that lets tasks share Docker's default bridge (docker0) with strangers.

Every container on docker0 has NET_RAW by Docker's default, so without a filter any of them can
forge ARP and take a task's address, and the emulator's gate (which tells a caller by its source
address) would serve it the task's credentials. As CNI plugins do, we pin each task to its port
with nftables `bridge` rules, one table per emulator process and bridge, which this process's
netlink socket owns (`flags owner`: the kernel removes it when the socket closes, SIGKILL
included, so a dead emulator never leaves rules that would cut off a new container at a dead
task's address). Tables of dead processes made without that flag are swept.

What the rules hold (for the guarded bridge; see RULES below):
1. From a task's port: only frames with the task's own source MAC, and of those only IPv4 from
   its own address and ARP whose sender is its own MAC and address; nothing else (no IPv6, no
   VLAN tags, no other ethertype).
2. From any other port: no frame with a task's MAC as source; no IPv4 or ARP claiming a task's
   address, the bridge's gateway or the link-local credentials address; no IPv4 to a task's
   address, whatever the frame's destination MAC (one sent to the gateway's MAC would be routed
   back out to the task by the host, with any forged off-link source: a blind DNS answer, an
   ICMP error, a TCP reset); no 802.1Q/802.1ad frames. Published ports still work: before NAT
   their destination is the host's address.
3. No frame passes between a task's port and any other port, either way; tasks reach each other.
   Nor does a packet the host routes from the bridge back onto it from a task to a non-task
   (`ip` table, forward).
4. A frame to a task's MAC leaves only by the task's port, and one to a task's address carries
   the task's MAC (forward and output): so even a forwarding table poisoned by link-local
   frames diverts nothing. The bridge learns from frames to 01:80:c2:00:00:0x without running
   any bridge hook (measured on 6.18: neither prerouting nor input sees them), so we also turn
   that learning off (no_linklocal_learn). It stays off after the guard closes: another
   emulator's guard on the same bridge may rely on it, and Docker does not need it.
5. Those link-local frames go up the host's stack on the port itself, unfiltered by the bridge
   hooks: an IPv4 packet in one reached a host socket as from the task. A second table, in the
   `ip` family, drops IPv4 in frames to 01:80:c2:00:00:00-0f at prerouting, on every interface
   (no IPv4 packet is ever sent to those IEEE-reserved addresses).
6. A packet from a task's address that enters the host by another interface than the bridge or
   the task's port (decapsulated from a tunnel: tunl0, gre0, a VXLAN device) is dropped at the
   `ip` table's prerouting: the gate would take it for the task's. (With br_netfilter a
   bridged frame is seen there on its port, without it on the bridge: both are allowed.)
7. A bridge with routable IPv6 is refused: IPv6 would be routed to tasks unfiltered.
Frames from a port to the host pass prerouting before input, so no input chain is needed.

Kernels built without nft_meta_bridge (CONFIG_NFT_BRIDGE_META; this project's CI) cannot match
on the bridge a port belongs to (`meta ibrname`). There the rules are not scoped to the bridge:
they still only match frames that claim or address a guarded task's MAC or IPv4, the gateway or
the link-local address, or that carry VLAN tags; so on another bridge of the host they drop
VLAN-tagged frames, and frames of a container whose address or MAC equals a guarded task's
(only where subnets overlap). `BridgeGuard.scoped` says which kind was made.

So every guard on a bridge drops the frames of any container at an address it holds, whoever
started that container: an admission must not outlive its holder's port. The caller releases
it when Docker tells of the holder's exit; the guard also releases it itself as soon as the
kernel deletes the port (port_watch.py), which comes first (Docker deletes the veth before it
frees the address for the next container, maybe another emulator's task) and is never missed.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import threading
from dataclasses import dataclass

from emulator.runtime import bridge_ports, labels, port_watch
from emulator.runtime.nft import Context, NftError

TABLE_PREFIX = "ecs_emulator_guard_"
_TABLE = re.compile(rf"^table (bridge|ip) ({TABLE_PREFIX}(\d+)_(\d*)_\S+)$", re.MULTILINE)
_BRIDGE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

# The tables; {scope_in}/{scope_out} restrict the hooks to the bridge where the kernel can. Ports
# are kept by interface index (iif/oif), not name: the next veth may take a gone one's name, but
# the kernel hands out indexes cyclically. A task's frame goes (`goto`, not `jump`) to from_task,
# whose `return` then ends `source` too: the stranger rules below it would drop a task's own
# frames (its MAC is in @macs).
RULES = """
table bridge {table} {{
  flags owner
  set ports {{ type iface_index; }}
  set port_mac {{ type iface_index . ether_addr; }}
  set macs {{ type ether_addr; }}
  set ips {{ type ipv4_addr; }}
  set ip_mac {{ type ipv4_addr . ether_addr; }}
  chain source {{
    iif @ports goto from_task
    ether type {{ 8021q, 8021ad }} drop
    meta protocol {{ 8021q, 8021ad }} drop
    ether saddr @macs drop
    ip saddr @ips drop
    ip daddr @ips drop
    ip saddr {{ {reserved} }} drop
    arp saddr ether @macs drop
    arp saddr ip @ips drop
    arp saddr ip {{ {reserved} }} drop
  }}
  chain from_task {{
    iif . ether saddr != @port_mac drop
    ip saddr . ether saddr @ip_mac return
    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iif . arp saddr ether @port_mac \
arp saddr ip . arp saddr ether @ip_mac return
    drop
  }}
  chain between {{
    iif @ports oif != @ports drop
    iif != @ports oif @ports drop
    jump egress
  }}
  chain egress {{
    ether daddr @macs oif . ether daddr != @port_mac drop
    ip daddr @ips ip daddr . ether daddr != @ip_mac drop
  }}
  chain prerouting {{ type filter hook prerouting priority filter; {scope_in}jump source; }}
  chain forward {{ type filter hook forward priority filter; {scope_in}jump between; }}
  chain output {{ type filter hook output priority filter; {scope_out}jump egress; }}
}}
table ip {table} {{
  flags owner
  set ports {{ type iface_index; }}
  set ips {{ type ipv4_addr; }}
  chain prerouting {{
    type filter hook prerouting priority raw;
    ether daddr 01:80:c2:00:00:00-01:80:c2:00:00:0f drop
    ip saddr @ips iif != @ports iifname != "{bridge}" drop
  }}
  chain forward {{
    type filter hook forward priority filter;
    iifname "{bridge}" oifname "{bridge}" ip saddr @ips ip daddr != @ips drop
  }}
}}
"""
FAMILIES = ("bridge", "ip")  # the tables RULES makes, by one name

log = logging.getLogger("emulator.runtime")


class GuardError(Exception):
    """A task could not be admitted (its port not found, the kernel refused the rules...)."""


@dataclass(frozen=True)
class _Admission:
    port: int
    mac: str
    ipv4: str

    def elements(self) -> str:
        """The set elements that make this admission, for `add element` / `delete element`."""
        return "\n".join(f"{{verb}} element {family} {{table}} {name} {{{{ {value} }}}}"
                         for family, name, value in (
                             ("bridge", "ports", self.port),
                             ("bridge", "port_mac", f"{self.port} . {self.mac}"),
                             ("bridge", "macs", self.mac), ("bridge", "ips", self.ipv4),
                             ("bridge", "ip_mac", f"{self.ipv4} . {self.mac}"),
                             ("ip", "ports", self.port), ("ip", "ips", self.ipv4)))



def _pin(bridge: str, told: bool = False) -> None:
    """Pin the bridge's MAC where it has none of its own (bridge_ports.pin_address); a failure
    costs the tasks' calls a hang when a port goes, not the guard: logged, not raised."""
    try:
        pinned = bridge_ports.pin_address(bridge)
    except OSError:
        log.warning("could not pin bridge %s's MAC address (it follows its ports')", bridge,
                    exc_info=True)
        return
    if pinned and told:
        log.info("the guard gave bridge %s its MAC address for good: it had none of its own, "
                 "and took its ports' (tasks lost the gateway as containers went)", bridge)

def make_guard(bridge: str, gateway: str, link_local: str = "169.254.170.2") -> "BridgeGuard | str":
    """The guard of `bridge` (gateway: the bridge's own IPv4), or a one-line reason it cannot be
    made. Sweeps tables dead emulators left first."""
    if os.geteuid() != 0:
        return "the anti-spoofing guard needs root (nftables, the bridge's settings)"
    if not _BRIDGE_NAME.match(bridge):
        return f"not a bridge name: {bridge!r}"
    try:
        reserved = sorted({str(ipaddress.IPv4Address(address)) for address in (gateway, link_local)})
    except ValueError as error:
        return f"not an IPv4 address: {error}"
    index = bridge_ports.bridge_index(bridge)
    if not index:
        return f"no bridge {bridge} on this host (in this network namespace)"
    if bridge_ports.has_routable_ipv6(bridge):
        return (f"bridge {bridge} has IPv6 on (an address other than link-local): the guard "
                "filters IPv4 and ARP only, so IPv6 would reach tasks unfiltered")
    try:
        context = Context()
    except OSError as error:
        return f"no libnftables ({error}); install nftables"
    try:
        sweep(context)
        table = table_name(bridge)
        scoped = _make_table(context, table, bridge, ", ".join(reserved))
        bridge_ports.set_no_linklocal_learn(bridge)
        _pin(bridge, told=True)
    except (NftError, OSError) as error:
        context.close()
        return f"cannot filter bridge {bridge}: {_one_line(error)}"
    guard = BridgeGuard(context, table, bridge, scoped)
    try:
        port_watch.watch(bridge, guard.ports_left)
    except OSError as error:
        guard.close()
        return f"cannot watch bridge {bridge}'s ports: {_one_line(error)}"
    return guard


_GUARDS = itertools.count(1)  # guards made by this process: each its own table


def table_name(bridge: str, pid: int | None = None, number: int | None = None) -> str:
    """Our table for `bridge` in process `pid` (default: this one): its pid and start time tell
    a dead process's table from a live one's (pids are reused); a number tells apart the guards
    of one process (the pytest plugin runs several emulators in one: an owned table of the same
    name is another socket's, and the kernel refuses to touch it)."""
    pid = os.getpid() if pid is None else pid
    number = next(_GUARDS) if number is None else number
    return f"{TABLE_PREFIX}{pid}_{labels.process_start(pid)}_{number}_{bridge}"


def sweep(context: Context) -> list[str]:
    """Delete our tables whose process is gone (an owned table goes with its process; one made
    without the owner flag, by an older version, stays); the names deleted."""
    swept = []
    for family, name, pid, start in _TABLE.findall(context.run("list tables")):
        if not labels.pid_alive(int(pid), start):
            try:
                context.run(f"delete table {family} {name}")
                swept.append(f"{family} {name}")
            except NftError:
                pass  # gone meanwhile, or still owned by a socket someone inherited
    return swept


class BridgeGuard:
    """The filter of one bridge: tasks admitted by their network namespace, MAC and IPv4."""

    def __init__(self, context: Context, table: str, bridge: str, scoped: bool):
        self.table = table
        self.bridge = bridge
        self.scoped = scoped  # rules restricted to this bridge (the kernel has nft_meta_bridge)
        self._context = context
        self._lock = threading.Lock()
        self._admitted: dict[str, _Admission] = {}  # by IPv4
        self._closed = False

    def admit(self, sandbox_key: str, mac: str, ipv4: str) -> int:
        """Pin the task whose network namespace dockerd holds at `sandbox_key` to its port on the
        bridge, at `mac` and `ipv4` (as Docker reports them); in the kernel when this returns.
        A previous admission at the same address, MAC or port is replaced (its task is gone:
        Docker gave its address or port away). Its port (release it by it). Raises GuardError."""
        mac, ipv4 = _mac(mac), _ipv4(ipv4)
        with self._lock:
            if self._closed:
                raise GuardError("the guard is closed")
            try:
                bridge_ports.set_no_linklocal_learn(self.bridge)  # a recreated bridge lost it
                _pin(self.bridge)  # ... or was made without an address
                index = bridge_ports.bridge_index(self.bridge)
                port, _ = bridge_ports.port_into(index, sandbox_key)
            except (OSError, bridge_ports.PortNotFound) as error:
                raise GuardError(f"no port of {self.bridge} for {sandbox_key}: "
                                 f"{_one_line(error)}") from error
            admission = _Admission(port, mac, ipv4)
            replaced = [old for old in self._admitted.values()
                        if admission.ipv4 == old.ipv4 or admission.mac == old.mac
                        or admission.port == old.port]
            commands = [self._elements("delete", old) for old in replaced]
            self._run(commands + [self._elements("add", admission)])
            for old in replaced:
                del self._admitted[old.ipv4]
            try:
                # A port deleted before the elements landed was told to ports_left() too early
                # to release them: the holder is gone, and its address is Docker's again.
                gone = not bridge_ports.is_port(index, port)
                if not gone:
                    bridge_ports.forget_neighbour(index, ipv4)
            except OSError as error:
                self._run([self._elements("delete", admission)])
                raise GuardError(f"cannot clear the host's ARP entry for {ipv4}: "
                                 f"{_one_line(error)}") from error
            if gone:
                self._run([self._elements("delete", admission)])
                raise GuardError(f"its port of {self.bridge} went as it was admitted (it stopped)")
            self._admitted[ipv4] = admission
            return port

    def release(self, mac: str, ipv4: str, port: int | None = None) -> None:
        """Forget the task at `mac` and `ipv4` (admitted on `port`, if given); nothing if it is
        not admitted, or a newer task was admitted at that address since (Docker gives a freed
        address, and a MAC made from it, to the next container: only the port tells them
        apart)."""
        mac, ipv4 = _mac(mac), _ipv4(ipv4)
        with self._lock:
            admission = self._admitted.get(ipv4)
            if (self._closed or admission is None or admission.mac != mac
                    or port not in (None, admission.port)):
                return
            self._run([self._elements("delete", admission)])
            del self._admitted[ipv4]

    def guarded(self, ipv4: str) -> bool:
        """Whether a task is admitted at `ipv4`: a connection from it is that task's. Cheap (one
        dict lookup, no lock): the gate asks on every connection."""
        return not self._closed and ipv4 in self._admitted

    def admitted(self) -> dict[str, str]:
        """The admitted tasks, IPv4 -> MAC."""
        with self._lock:
            return {} if self._closed else {ipv4: a.mac for ipv4, a in self._admitted.items()}

    def ports_left(self, left: set[int] | None) -> bool:
        """The kernel says the ports `left` (interface indexes) were deleted or left the bridge
        (None: it lost count; the bridge's ports are read): their admissions go at once, before
        Docker gives their addresses to the next container (port_watch.py). A notice is a hint,
        asked of the kernel again: a port's notices from before it joined (no master yet) can
        be read after its admission, on a watch that lags. Whether the guard is still open (its
        watch goes on)."""
        with self._lock:
            if self._closed:
                return False
            gone = [a for a in self._admitted.values() if left is None or a.port in left]
            if not gone:  # (most notifications are of other links)
                return True
            index = bridge_ports.bridge_index(self.bridge)
            try:
                if left is None:
                    ports = ({port for port, _, _ in bridge_ports.list_ports(index)} if index
                             else set())
                    gone = [a for a in gone if a.port not in ports]
                else:
                    gone = [a for a in gone if not bridge_ports.is_port(index, a.port)]
            except OSError:
                log.warning("could not read bridge %s's ports (after their notifications)",
                            self.bridge, exc_info=True)
                return True
            if gone:
                try:
                    self._run([self._elements("delete", admission) for admission in gone])
                except GuardError:
                    log.warning("could not release %s from the default bridge's guard (their "
                                "ports went)", ", ".join(a.ipv4 for a in gone), exc_info=True)
                    return True
                for admission in gone:
                    del self._admitted[admission.ipv4]
            return True

    def close(self) -> None:
        """Remove the table (closing our netlink socket does that too); idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._admitted.clear()
            try:
                self._context.run("\n".join(f"delete table {family} {self.table}"
                                             for family in FAMILIES))
            except NftError:
                pass  # the socket's close below removes it all the same
            self._context.close()

    def _elements(self, verb: str, admission: _Admission) -> str:
        return admission.elements().format(verb=verb, table=self.table)

    def _run(self, commands: list[str]) -> None:
        try:
            self._context.run("\n".join(commands))
        except NftError as error:
            raise GuardError(f"nftables refused: {_one_line(error)}") from error


def _make_table(context: Context, table: str, bridge: str, reserved: str) -> bool:
    """Make the table, scoped to the bridge where the kernel can match a port's bridge; whether
    it is scoped. Raises NftError."""
    scoped = {"scope_in": f'meta ibrname "{bridge}" ', "scope_out": f'meta obrname "{bridge}" '}
    try:
        context.run(RULES.format(table=table, bridge=bridge, reserved=reserved, **scoped))
        return True
    except NftError as error:
        if "not supported" not in str(error):
            raise
    context.run(RULES.format(table=table, bridge=bridge, reserved=reserved, scope_in="",
                             scope_out=""))
    return False


def _mac(mac: str) -> str:
    mac = mac.lower()
    if not _MAC.match(mac):
        raise GuardError(f"not a MAC address: {mac!r}")
    return mac


def _ipv4(ipv4: str) -> str:
    try:
        return str(ipaddress.IPv4Address(ipv4))
    except ValueError as error:
        raise GuardError(f"not an IPv4 address: {ipv4!r}") from error


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())

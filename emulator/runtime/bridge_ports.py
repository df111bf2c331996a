"""Host-side facts about a Linux bridge, read over rtnetlink: which of its ports leads into a given
network namespace, and whether IPv6 is on it.

The anti-spoofing guard (bridge_guard.py) pins a task to the bridge port its traffic enters by.
That port must be found from the host's side: a task with NET_ADMIN could rename or renumber
what its own /sys shows. Docker tells us the task's network namespace (its SandboxKey, a file
dockerd holds open); the kernel numbers each namespace a host-side veth's peer lives in (its
IFLA_LINK_NETNSID), and tells the number of a namespace we hold open (RTM_GETNSID with
NETNSA_FD). The port whose peer lives in the task's namespace is the one whose number matches.

Plain `socket` netlink, no `ip` process: this runs on every task start.
"""

from __future__ import annotations

import errno
import os
import socket
import struct

from emulator import netlink
from emulator.netlink import NLM_F_ACK, NLM_F_DUMP
from emulator.netlink import attribute as _attr, attributes as _attrs

RTM_NEWLINK, RTM_GETLINK, RTM_SETLINK = 16, 18, 19
RTM_DELNEIGH = 29
RTM_NEWNSID, RTM_GETNSID = 88, 90
IFLA_ADDRESS, IFLA_IFNAME, IFLA_LINK, IFLA_MASTER = 1, 3, 5, 10
IFLA_LINK_NETNSID, IFLA_TARGET_NETNSID = 37, 46
NET_ADDR_SET = 3  # a link's addr_assign_type once its address was given to it
NETNSA_NSID, NETNSA_FD = 1, 3
NDA_DST = 1

_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_NDMSG = struct.Struct("=BxxxiHBB")  # ndmsg: family, index, state, flags, type


class PortNotFound(Exception):
    """No port of the bridge leads into the namespace (or several do)."""


def bridge_index(bridge: str) -> int:
    """The bridge's interface index; 0 when there is no such bridge on this host."""
    if not os.path.isdir(f"/sys/class/net/{bridge}/bridge"):
        return 0
    try:
        return socket.if_nametoindex(bridge)
    except OSError:
        return 0


def port_into(bridge: int, sandbox_key: str) -> tuple[int, str]:
    """(index, name) of the port of bridge `bridge` (an interface index) whose veth peer lives in
    the network namespace at `sandbox_key`. Raises PortNotFound (or OSError: no such file)."""
    nsid = _namespace_id_of(sandbox_key)
    if nsid < 0:  # not numbered yet: a dump of the bridge's ports numbers its peers' namespaces
        list_ports(bridge)
        nsid = _namespace_id_of(sandbox_key)
        if nsid < 0:
            _no_port(sandbox_key, nsid, 0)
    # Candidates from the namespace's side (its veths' peer indexes: a handful of links, where the
    # bridge may have hundreds of ports); the host's own view of each decides, so a task that
    # made links of its own cannot make us pick another port.
    found = []
    for index in _peer_indexes(nsid):
        port = _link(index)
        if port and port[1] == bridge and port[2] == nsid:
            found.append((index, port[0]))
    if len(found) != 1:
        _no_port(sandbox_key, nsid, len(found))
    return found[0]


def _namespace_id_of(sandbox_key: str) -> int:
    fd = os.open(sandbox_key, os.O_RDONLY | os.O_CLOEXEC)
    try:
        return namespace_id(fd)
    finally:
        os.close(fd)


def _no_port(sandbox_key: str, nsid: int, count: int) -> None:
    raise PortNotFound(f"{count} ports of the bridge lead into {sandbox_key} "
                       f"(its namespace id here: {nsid})")


def _peer_indexes(nsid: int) -> list[int]:
    """The host-side indexes (IFLA_LINK) of the veths in namespace `nsid` whose peer lives in
    another namespace. The namespace's owner can add links but not make a peer in ours."""
    request = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + _attr(IFLA_TARGET_NETNSID,
                                                                  struct.pack("=i", nsid))
    found = []
    for kind, body in _talk(RTM_GETLINK, NLM_F_DUMP, request):
        attrs = _attrs(body, _IFINFO.size) if kind == RTM_NEWLINK else {}
        if IFLA_LINK_NETNSID in attrs and IFLA_LINK in attrs:
            found.append(_u32(attrs[IFLA_LINK]))
    return found


def _link(index: int) -> tuple[str, int | None, int] | None:
    """(name, master's index, its peer's namespace id or -1) of this host's link `index`."""
    try:
        replies = _talk(RTM_GETLINK, 0, _IFINFO.pack(socket.AF_UNSPEC, 0, index, 0, 0))
    except OSError as error:
        if error.errno == errno.ENODEV:  # gone
            return None
        raise  # not told
    for kind, body in replies:
        if kind == RTM_NEWLINK:
            attrs = _attrs(body, _IFINFO.size)
            peer = attrs.get(IFLA_LINK_NETNSID)
            return (attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode(),
                    _u32(attrs.get(IFLA_MASTER)),
                    struct.unpack("=i", peer[:4])[0] if peer else -1)
    return None


def is_port(bridge: int, index: int) -> bool:
    """Whether link `index` is a port of bridge `bridge` (an interface index) now."""
    link = _link(index)
    return link is not None and link[1] == bridge


def list_ports(bridge: int) -> list[tuple[int, str, int]]:
    """(index, name, the namespace id of its peer or -1) of each port enslaved to `bridge`."""
    request = (_IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
               + _attr(IFLA_MASTER, struct.pack("=I", bridge)))
    ports = []
    for kind, body in _talk(RTM_GETLINK, NLM_F_DUMP, request):
        if kind != RTM_NEWLINK:
            continue
        index = _IFINFO.unpack_from(body)[2]
        attrs = _attrs(body, _IFINFO.size)
        if _u32(attrs.get(IFLA_MASTER)) != bridge:
            continue  # a kernel that ignores the dump's filter lists every link
        name = attrs.get(IFLA_IFNAME, b"").rstrip(b"\0").decode()
        peer = attrs.get(IFLA_LINK_NETNSID)
        ports.append((index, name, struct.unpack("=i", peer[:4])[0] if peer else -1))
    return ports


def namespace_id(fd: int) -> int:
    """The id this host's namespace gives the network namespace open at `fd` (-1: none yet)."""
    request = struct.pack("=Bxxx", socket.AF_UNSPEC) + _attr(NETNSA_FD, struct.pack("=I", fd))
    for kind, body in _talk(RTM_GETNSID, 0, request):
        if kind == RTM_NEWNSID:
            nsid = _attrs(body, 4).get(NETNSA_NSID)
            return struct.unpack("=i", nsid[:4])[0] if nsid else -1
    return -1


def forget_neighbour(bridge: int, ipv4: str) -> None:
    """Drop this host's neighbour (ARP) entry for `ipv4` on the bridge, if any: one a stranger
    forged before the task was guarded would keep the host's frames going to the stranger's
    MAC. The next send asks again, and only the task's answer passes the guard."""
    request = (_NDMSG.pack(socket.AF_INET, bridge, 0, 0, 0)
               + _attr(NDA_DST, socket.inet_aton(ipv4)))
    try:
        _talk(RTM_DELNEIGH, NLM_F_ACK, request)
    except netlink.NetlinkError as error:
        if error.errno != errno.ENOENT:  # ENOENT: no entry
            raise


def has_routable_ipv6(bridge: str, if_inet6: str = "/proc/net/if_inet6") -> bool:
    """Whether the bridge holds an IPv6 address other than link-local (Docker's EnableIPv6 puts
    one there): IPv6 would then be routed to and from tasks, which the guard does not filter."""
    try:
        with open(if_inet6, encoding="ascii") as lines:
            rows = [line.split() for line in lines]
    except FileNotFoundError:  # no IPv6 in this kernel
        return False
    return any(len(row) == 6 and row[5] == bridge and int(row[3], 16) != 0x20 for row in rows)


def set_no_linklocal_learn(bridge: str) -> None:
    """Stop the bridge learning addresses from link-local frames (01:80:c2:00:00:0x), which it
    does before any bridge netfilter hook runs: a container could otherwise point a task's MAC
    at its own port and receive the task's traffic. Raises OSError where the kernel cannot."""
    path = f"/sys/class/net/{bridge}/bridge/no_linklocal_learn"
    with open(path, encoding="ascii") as current:
        if current.read().strip() == "1":
            return
    with open(path, "w", encoding="ascii") as setting:
        setting.write("1")


def pin_address(bridge: str) -> bool:
    """Keep the bridge's MAC address as it is now; whether it had to be pinned. A Linux bridge
    whose address was never given to it (made by `ip link add` without one; dockerd gives
    docker0 one as it makes it) takes the lowest MAC among its ports and changes it whenever
    that port goes: a container that learnt the gateway's MAC before goes on sending to the old
    one, which this host no longer takes, while its neighbour entry stays fresh (up to ~45 s),
    so its calls to the gateway's address hang. With no port yet it has none: a random one.
    Raises OSError where the kernel refuses."""
    with open(f"/sys/class/net/{bridge}/addr_assign_type", encoding="ascii") as kind:
        if int(kind.read()) == NET_ADDR_SET:
            return False
    with open(f"/sys/class/net/{bridge}/address", encoding="ascii") as current:
        mac = bytes.fromhex(current.read().strip().replace(":", ""))
    if len(mac) != 6 or mac == bytes(6) or mac[0] & 1:
        mac = bytes([os.urandom(1)[0] & 0xFC | 0x02]) + os.urandom(5)  # locally administered
    request = (_IFINFO.pack(socket.AF_UNSPEC, 0, socket.if_nametoindex(bridge), 0, 0)
               + _attr(IFLA_ADDRESS, mac))
    _talk(RTM_SETLINK, NLM_F_ACK, request)
    return True


def _u32(value: bytes | None) -> int | None:
    return struct.unpack("=I", value[:4])[0] if value and len(value) >= 4 else None


def _talk(kind: int, flags: int, payload: bytes) -> list[tuple[int, bytes]]:
    """One request on a fresh rtnetlink socket (see netlink.exchange)."""
    with netlink.open_socket(socket.NETLINK_ROUTE) as sock:
        return netlink.exchange(sock, kind, flags, payload)

"""Netlink framing (emulator/netlink.py), shared by runtime/bridge_ports.py and
access/peer_uid.py: a dump's answers up to its end, over several datagrams; the kernel's errors
and acknowledgements; answers to an earlier question skipped; attributes; and one real rtnetlink
question."""

from __future__ import annotations

import errno
import socket
import struct
import sys

import pytest

from emulator import netlink

RTM_NEWLINK, RTM_GETLINK = 16, 18
IFLA_IFNAME = 3


def message(kind: int, seq: int, body: bytes) -> bytes:
    padding = b"\0" * (-len(body) % 4)
    return netlink.HEADER.pack(netlink.HEADER.size + len(body), kind, 0, seq, 0) + body + padding


def error(seq: int, code: int) -> bytes:
    return message(netlink.NLMSG_ERROR, seq, struct.pack("=i", code) + bytes(16))


class Kernel:
    """A socket whose answers are the datagrams it is given; it keeps what was sent."""

    def __init__(self, *datagrams: bytes):
        self.datagrams = list(datagrams)
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)

    def recv(self, size: int) -> bytes:
        return self.datagrams.pop(0)


def test_a_dump_is_read_over_several_datagrams_up_to_its_end():
    kernel = Kernel(message(20, 7, b"one!") + message(20, 7, b"two"),
                    message(20, 7, b"three") + message(netlink.NLMSG_DONE, 7, bytes(4)))
    answers = netlink.exchange(kernel, 20, netlink.NLM_F_DUMP, b"asked", seq=7)
    # each body as long as its header says, without the padding to the next message
    assert answers == [(20, b"one!"), (20, b"two"), (20, b"three")]
    length, kind, flags, seq, _ = netlink.HEADER.unpack_from(kernel.sent[0])
    assert (length, kind, flags, seq) == (netlink.HEADER.size + 5, 20,
                                         netlink.NLM_F_REQUEST | netlink.NLM_F_DUMP, 7)
    assert kernel.sent[0][netlink.HEADER.size:] == b"asked"


def test_an_answer_to_an_earlier_question_is_skipped():
    kernel = Kernel(message(20, 3, b"late") + message(20, 4, b"ours"))
    assert netlink.exchange(kernel, 20, 0, b"", seq=4) == [(20, b"ours")]


def test_a_question_that_is_no_dump_takes_the_first_answer():
    kernel = Kernel(message(16, 1, b"link") + message(16, 1, b"more"))
    assert netlink.exchange(kernel, 18, 0, b"") == [(16, b"link")]


def test_the_kernels_error_raises_with_its_errno_and_an_acknowledgement_answers_nothing():
    with pytest.raises(netlink.NetlinkError) as raised:
        netlink.exchange(Kernel(error(1, -errno.ENOENT)), 29, netlink.NLM_F_ACK, b"")
    assert raised.value.errno == errno.ENOENT and isinstance(raised.value, OSError)
    assert netlink.exchange(Kernel(error(1, 0)), 29, netlink.NLM_F_ACK, b"") == []


def test_a_dump_that_failed_part_way_raises_its_errno():
    """The kernel ends a dump it could not finish with NLMSG_DONE carrying the error: the
    answers before it are not the whole answer."""
    kernel = Kernel(message(20, 1, b"one!") + message(netlink.NLMSG_DONE, 1,
                                                      struct.pack("=i", -errno.EINTR)))
    with pytest.raises(netlink.NetlinkError) as raised:
        netlink.exchange(kernel, 20, netlink.NLM_F_DUMP, b"")
    assert raised.value.errno == errno.EINTR


def test_a_message_too_short_to_frame_ends_its_datagram():
    broken = netlink.HEADER.pack(0, 20, 0, 1, 0)  # length 0 would never move on
    kernel = Kernel(broken + message(20, 1, b"lost"), message(netlink.NLMSG_DONE, 1, bytes(4)))
    assert netlink.exchange(kernel, 20, netlink.NLM_F_DUMP, b"") == []


def test_attributes_are_padded_and_read_back_without_their_flags():
    packed = netlink.attribute(3, b"eth0\0") + netlink.attribute(0x8000 | 10, b"\1\0\0\0")
    assert len(packed) % 4 == 0
    assert netlink.attributes(b"fixed" + packed, 5) == {3: b"eth0\0", 10: b"\1\0\0\0"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink is Linux's")
def test_the_kernel_names_its_loopback_link():
    request = struct.pack("=BxHiII", socket.AF_UNSPEC, 0, socket.if_nametoindex("lo"), 0, 0)
    with netlink.open_socket(socket.NETLINK_ROUTE, timeout=5) as sock:
        answers = netlink.exchange(sock, RTM_GETLINK, 0, request)
    assert [kind for kind, _ in answers] == [RTM_NEWLINK]
    name = netlink.attributes(answers[0][1], struct.calcsize("=BxHiII"))[IFLA_IFNAME]
    assert name.rstrip(b"\0") == b"lo"
    with netlink.open_socket(socket.NETLINK_ROUTE, timeout=5) as sock:
        with pytest.raises(netlink.NetlinkError) as raised:  # no such link
            netlink.exchange(sock, RTM_GETLINK, 0, struct.pack("=BxHiII", 0, 0, 2**31 - 1, 0, 0))
    assert raised.value.errno == errno.ENODEV

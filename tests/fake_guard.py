"""A stand-in for runtime/bridge_guard.py's BridgeGuard in unit tests: it records what it is
asked (admit, release, close) and holds addresses as the real one's nftables set would."""

from __future__ import annotations


class GuardError(Exception):
    pass


class FakeGuard:
    def __init__(self, bridge: str = "docker0", refuse: str | None = None):
        self.bridge = bridge
        self.refuse = refuse  # admit raises GuardError(refuse) when set
        self.held: dict[str, tuple[str, str]] = {}  # ipv4 -> (sandbox key, mac)
        self.calls: list[tuple] = []
        self.closed = False

    def admit(self, sandbox_key: str, mac: str, ipv4: str) -> None:
        self.calls.append(("admit", sandbox_key, mac, ipv4))
        if self.refuse:
            raise GuardError(self.refuse)
        self.held[ipv4] = (sandbox_key, mac)

    def release(self, mac: str, ipv4: str) -> None:
        self.calls.append(("release", mac, ipv4))
        if self.held.get(ipv4, (None, None))[1] == mac:
            del self.held[ipv4]

    def guarded(self, ipv4: str) -> bool:
        return ipv4 in self.held

    def admitted(self) -> dict[str, str]:
        return {ipv4: mac for ipv4, (_, mac) in self.held.items()}

    def close(self) -> None:
        self.calls.append(("close",))
        self.closed = True
        self.held.clear()

"""Where the front doors of Express services and gateway routes answer: a listener of their own
(emulator/front_doors.py), on another port than the API's, so that a task's page is never on the
dashboard's origin. The API's answers (ingressPaths, serviceUrl) name it from the host the
client reached us at, with the front doors' port in place of ours."""

from __future__ import annotations

EXPRESS = "/express/"
GATEWAYS = "/gateways/"


class FrontDoorAddress:
    def __init__(self) -> None:
        self.port = 0  # set by the server once the front doors' listener is bound
        self.api_port = 0  # and the API's, which the clients' Host headers are compared with

    def base(self, host_header: str) -> str:
        """http://<the host the client named>:<front doors' port, at the same offset from the
        port the client named as ours is from the API's>."""
        host = (host_header or "127.0.0.1").strip()
        if host.startswith("["):  # [::1]:4566
            name, _, port = host.partition("]")
            name, port = name + "]", port[1:]
        elif host.count(":") == 1:
            name, _, port = host.rpartition(":")
        else:
            name, port = host, ""
        return f"http://{name}:{self._doors_port(port)}" if self.port else f"http://{host}"

    def _doors_port(self, named: str) -> int:
        """A client that reached the API on another port than its own reached a published one
        (`docker run -p 5566:4566`): the front doors are published at the same offset
        (`-p 5567:4567`), the README's rule. A Host without a port (a proxy's) names ours."""
        try:
            shifted = self.port + int(named) - self.api_port
        except ValueError:
            return self.port
        return shifted if self.api_port and 0 < shifted < 65536 else self.port

    def express(self, host_header: str, cluster: str, service: str) -> str:
        return f"{self.base(host_header)}{EXPRESS}{cluster}/{service}/"

    def gateway_route(self, host_header: str, gateway: str, cluster: str, service: str) -> str:
        return f"{self.base(host_header)}{GATEWAYS}{gateway}/{cluster}/{service}/"

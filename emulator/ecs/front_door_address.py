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

    def base(self, host_header: str) -> str:
        """http://<the host the client named>:<front doors' port>."""
        host = (host_header or "127.0.0.1").strip()
        if host.startswith("["):  # [::1]:4566
            name = host.partition("]")[0] + "]"
        else:
            name = host.rpartition(":")[0] if host.count(":") == 1 else host
        return f"http://{name}:{self.port}" if self.port else f"http://{host}"

    def express(self, host_header: str, cluster: str, service: str) -> str:
        return f"{self.base(host_header)}{EXPRESS}{cluster}/{service}/"

    def gateway_route(self, host_header: str, gateway: str, cluster: str, service: str) -> str:
        return f"{self.base(host_header)}{GATEWAYS}{gateway}/{cluster}/{service}/"

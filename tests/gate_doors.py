"""Stand-ins for what the gate (emulator/access/gate.py) asks about callers, and the app behind
it: shared by the gate's tests (test_access_units.py) and scripts/bench/admission.py, so the
bench measures the gate as the tests drive it."""

from __future__ import annotations

from emulator.access.callers import Caller, CallerKind


class AdmitEveryone:
    """Every address admitted, each a caller on the host."""

    def admits(self, address: str, wait: bool = True, this_host=None,
               since: float | None = None) -> bool | None:
        return True

    def identify(self, address: str, this_host=None) -> Caller:
        return Caller(CallerKind.HOST, address)


def ok_app(environ, start_response):
    start_response("200 OK", [("Content-Length", "2")])
    return [b"ok"]

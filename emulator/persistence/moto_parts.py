"""moto's backends as snapshot parts: one part per service (one BackendDict), holding the state
of each of its account/region backends.

A backend's state is its `__dict__`, pickled whole. The backend objects themselves are never
replaced: restoring gives a live backend (made by moto as usual) the saved `__dict__`, so every
reference moto keeps to a backend stays good, and a reference from one backend to another is
written as a reference (which service, account, region) and resolved to the live one.
"""

from __future__ import annotations

import collections
import importlib
import logging
import sys

from emulator.persistence import snapshot

log = logging.getLogger("emulator.persistence")

PREFIX = "moto-"
# moto's backends that are views of another's (BatchSimpleBackend answers `__dict__` with its
# batch backend's): saved as that one, not twice.
WRAPPERS = ("moto.batch_simple.models",)


def _backend_dicts() -> dict[str, object]:
    """Part name -> every BackendDict moto has in use (loaded and holding an account)."""
    base = sys.modules.get("moto.core.base_backend")
    if base is None:
        return {}
    found = {}
    for backends in list(base.BackendDict._instances):
        address = _address(backends)
        if address is not None and address[0] not in WRAPPERS:
            found[PREFIX + ":".join(address)] = backends
    return found


def _address(backends) -> tuple[str, str] | None:
    """(module, attribute) where the BackendDict lives: ("moto.logs.models", "logs_backends")."""
    module = sys.modules.get(backends.backend.__module__)
    for name, value in vars(module or object()).items():
        if value is backends:
            return module.__name__, name
    return None


def part_names() -> list[str]:
    return sorted(_backend_dicts())


def parts_for(service: str) -> list[str]:
    """The parts a call signed for `service` (SigV4's name) may change; [] if none is loaded."""
    modules = _SIGNING_NAMES.get(service, (service,))
    return [name for name in part_names()
            if name[len(PREFIX):].split(":")[0].split(".")[1] in modules]


# SigV4 signing names whose moto module is named otherwise, or that change other services too.
_SIGNING_NAMES = {
    "elasticloadbalancing": ("elbv2", "elb"),
    "monitoring": ("cloudwatch",),
    "sts": ("sts", "iam"),
    "lambda": ("awslambda", "awslambda_simple"),  # the queued answers (aws/moto_containment.py)
    "batch": ("batch",),  # batch_simple's state is batch's (WRAPPERS)
    "states": ("stepfunctions",),
    "email": ("ses", "sesv2"),
    "execute-api": ("apigateway",),
}


class _References:
    """Names every moto backend object (and BackendDict) so a part refers to the live ones."""

    def __init__(self):
        self._ids: dict[int, tuple] = {}
        for backends in _backend_dicts().values():
            module, attribute = _address(backends)
            self._ids[id(backends)] = ("moto-dict", module, attribute)
            for account, regional in list(dict.items(backends)):
                self._ids[id(regional)] = ("moto-account", module, attribute, account)
                for region, backend in list(dict.items(regional)):
                    self._ids[id(backend)] = ("moto-backend", module, attribute, account, region)
                    self._aws_policies(backend, (module, attribute, account, region))

    def _aws_policies(self, backend, where: tuple) -> None:
        """IAM's ~1,300 AWS managed policies are made the same in every process (4 MB
        pickled): one that is unattached is as moto made it, so the live one stands in."""
        for arn, policy in list(backend.__dict__.get("managed_policies", {}).items()):
            if type(policy).__name__ == "AWSManagedPolicy" and policy.attachment_count == 0:
                self._ids[id(policy)] = ("moto-aws-policy", *where, arn)

    def __call__(self, obj):
        return self._ids.get(id(obj))


def resolve(pid: tuple):
    kind, module, attribute = pid[:3]
    backends = getattr(importlib.import_module(module), attribute)
    if kind == "moto-dict":
        return backends
    if kind == "moto-account":
        return backends[pid[3]]
    if kind == "moto-backend":
        return backends[pid[3]][pid[4]]
    if kind == "moto-aws-policy":  # the live backend's own, made by moto as it started
        return backends[pid[3]][pid[4]].managed_policies[pid[5]]
    raise snapshot.SnapshotError(f"unknown reference {pid!r}")


def capture(name: str) -> bytes | None:
    """The part's snapshot; None if moto no longer has it (a reset)."""
    backends = _backend_dicts().get(name)
    if backends is None:
        return None
    for attempt in range(5):
        try:
            state = {(account, region): backend.__dict__
                     for account, regional in list(dict.items(backends))
                     for region, backend in list(dict.items(regional))}
            return snapshot.dumps({"address": _address(backends), "backends": state},
                                  _References())
        except RuntimeError:  # another thread changed a dict while we read it: read again
            if attempt == 4:
                raise
    return None


def restore(data: bytes) -> None:
    value = snapshot.loads(data, resolve)
    module, attribute = value["address"]
    if module in WRAPPERS:
        # a part saved before WRAPPERS knew it (the wrapped backend's state, saved again):
        # restored, it would put that older copy over the wrapped backend's own part
        return
    backends = getattr(importlib.import_module(module), attribute)
    for (account, region), state in value["backends"].items():
        live = backends[account][region]  # made by moto now, with its own defaults
        for key, saved in list(state.items()):
            current = live.__dict__.get(key)
            if isinstance(saved, snapshot.LostFactory) and isinstance(
                    current, collections.defaultdict):
                current.clear()
                current.update(saved)
                state[key] = current
        live.__dict__.clear()
        live.__dict__.update(state)

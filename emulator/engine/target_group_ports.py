"""moto's ELBv2 target groups with targets keyed by (Id, Port), as ELB keys them.

moto keys a target group's targets by Id alone, but ECS puts several tasks of one instance into
a group on different host ports (and here every EC2 task runs on the one local host). A target
may also carry "State" (set by the fault endpoint) that DescribeTargetHealth reports.

With it goes target_group_balancers.py: a group names the load balancers that forward to it
now, as ELB's do, not every one that ever did.

The app installs this extension when moto loads and uninstalls it when it stops; importing this
module changes nothing. moto's classes are one per process, so the extension is counted: it
stays while any app that installed it runs, and moto's own methods return when the last stops.
"""

from __future__ import annotations

import threading

from emulator.engine import target_group_balancers

HEALTHY, UNHEALTHY, INITIAL = "healthy", "unhealthy", "initial"
# The key of a target handed to `register` that gives its State from the start (the load
# balancing hook's `initial`), so it never reads healthy first. A tuple, which no ELBv2
# request's parsed Targets can hold: a user's RegisterTargets cannot set a State.
REGISTER_STATE = ("emulator", "State")
_METHODS = ("register", "deregister", "deregister_terminated_instances", "health_for")

_lock = threading.Lock()
_holders = 0  # apps that have installed the extension and not yet uninstalled it
_originals: dict = {}  # moto's own methods, while the extension is in place


def target_key(target_id: str, port) -> tuple[str, str]:
    return (target_id, str(port))


class TargetGroupPorts:
    """One app's hold on the extension: `install` (moto's on_load hook), `uninstall` (a closer)."""

    def __init__(self):
        self._holding = False

    @property
    def installed(self) -> bool:
        return self._holding

    def install(self) -> None:
        global _holders
        with _lock:
            if self._holding:
                return
            if _holders == 0:
                _replace_methods()
            _holders += 1
            self._holding = True

    def uninstall(self) -> None:
        global _holders
        with _lock:
            if not self._holding:
                return
            self._holding = False
            _holders -= 1
            if _holders == 0:
                _restore_methods()


def _replace_methods() -> None:
    from moto.elbv2 import models

    group_class = models.FakeTargetGroup
    _originals.update({name: vars(group_class)[name] for name in _METHODS})
    for name, method in _port_aware_methods(models, _originals["health_for"]).items():
        setattr(group_class, name, method)
    target_group_balancers.install(models)


def _restore_methods() -> None:
    from moto.elbv2 import models

    for name, method in _originals.items():
        setattr(models.FakeTargetGroup, name, method)
    _originals.clear()
    target_group_balancers.uninstall(models)


def _port_aware_methods(models, original_health_for) -> dict:
    def register(self, targets):
        for target in targets:
            instance = self.ec2_backend.get_instance_by_id(target["Id"])
            if instance is not None and instance.state != "running":
                raise models.TargetNotRunning(instance_id=target["Id"])
            port = target.get("Port", self.port)
            entry = {"Id": target["Id"], "Port": port}
            if target.get(REGISTER_STATE):
                entry["State"] = target[REGISTER_STATE]
            self.targets[target_key(target["Id"], port)] = entry
            self.deregistered_targets.pop(target["Id"], None)

    def deregister(self, targets):
        for target in targets:
            keys = [k for k in self.targets if k[0] == target["Id"]
                    and ("Port" not in target or k[1] == str(target["Port"]))]
            if not keys:
                raise models.InvalidTargetError()
            for key in keys:
                self.deregistered_targets[target["Id"]] = self.targets.pop(key)

    def deregister_terminated_instances(self, instance_ids):
        for key in [k for k in self.targets if k[0] in instance_ids]:
            self.terminated_targets[key[0]] = self.targets.pop(key)

    def health_for(self, target, ec2_backend):
        found = [t for k, t in self.targets.items() if k[0] == target["Id"]
                 and ("Port" not in target or k[1] == str(target["Port"]))]
        if not found:  # moto's answers for targets that are not registered
            return original_health_for(self, target, ec2_backend)
        registered = found[0]
        instance = (ec2_backend.get_instance_by_id(registered["Id"])
                    if registered["Id"].startswith("i-") else None)
        if instance is not None and instance.state == "stopped":
            return models.FakeHealthStatus(registered["Id"], registered["Port"],
                                           self.health_check_port, "unused",
                                           "Target.InvalidState", "Target is in the stopped state")
        if registered.get("State") == UNHEALTHY:
            return models.FakeHealthStatus(registered["Id"], registered["Port"],
                                           self.health_check_port, UNHEALTHY,
                                           "Target.FailedHealthChecks", "Health checks failed")
        if registered.get("State") == INITIAL:
            return models.FakeHealthStatus(registered["Id"], registered["Port"],
                                           self.health_check_port, INITIAL,
                                           "Elb.RegistrationInProgress",
                                           "Target registration is in progress")
        return models.FakeHealthStatus(registered["Id"], registered["Port"],
                                       self.health_check_port, HEALTHY)

    return {"register": register, "deregister": deregister,
            "deregister_terminated_instances": deregister_terminated_instances,
            "health_for": health_for}

"""The checks ECS makes of a service's (or task set's) `loadBalancers` when it is created or
updated: each container and port in the task definition, and each target group in ELBv2 (moto's,
through the lookup the app factory plugs into the store's contributions): one that exists, that
a load balancer forwards to, and whose target type suits the task definition's network mode.
The messages are ECS's own (for an entry naming both a target group and a Classic Load Balancer,
as quoted from a live response in aws/amazon-ecs-cli#211), but for the blank container port, whose
AWS wording is not documented.
"""

from __future__ import annotations

from dataclasses import dataclass

from emulator.ecs.errors import InvalidParameterException


@dataclass(frozen=True)
class TargetGroup:
    """What ECS asks of an ELBv2 target group."""
    target_type: str  # "instance", "ip", "lambda" or "alb"
    load_balancer_arns: tuple[str, ...]


# Each network mode and the target type its tasks register as (awsvpc tasks by their own IP,
# bridge and host tasks by their instance's id and host port).
_TARGET_TYPE = {"awsvpc": "ip", "bridge": "instance", "host": "instance"}


def check_load_balancers(store, definition, load_balancers: list[dict], *,
                         new_entries: bool = True) -> None:
    """Each entry's container and port; for `new_entries` (not a service's kept ones, checked
    again against a new task definition), what the entry holds and its target group too. A kept
    entry was accepted when it was made, perhaps before these checks: one that names both
    fields must not leave its service unable to take a new task definition."""
    if definition is None:
        return
    network_mode = definition.spec.get("networkMode", "bridge")
    for balancer in load_balancers:
        if new_entries:
            _check_entry(balancer)
        check_container(definition, balancer)
        arn = balancer.get("targetGroupArn")
        if arn and new_entries:
            _check_target_group(store, arn, network_mode)


def _check_entry(balancer: dict) -> None:
    """What an entry must hold before its container is looked up: a container name and port
    (ECS's words for the blank name, aws/amazon-ecs-cli#359), and not both a target group and a
    Classic Load Balancer's name (ECS's words, aws/amazon-ecs-cli#211)."""
    if not balancer.get("containerName"):
        raise InvalidParameterException("Container Name can not be blank.")
    if balancer.get("containerPort") is None:
        raise InvalidParameterException("Container Port can not be blank.")
    if balancer.get("targetGroupArn") and balancer.get("loadBalancerName"):
        raise InvalidParameterException(
            "loadBalancerName and targetGroupArn cannot both be specified. You must specify "
            "either a loadBalancerName or a targetGroupArn.")


def check_container(definition, balancer: dict) -> None:
    """The entry's containerName and containerPort name a container of the task definition and
    one of its port mappings (a service registry's are held to the same)."""
    name, port = balancer.get("containerName"), balancer.get("containerPort")
    container = next((c for c in definition.spec["containerDefinitions"]
                      if c["name"] == name), None)
    if container is None:
        raise InvalidParameterException(
            f"The container {name} does not exist in the task definition.")
    ports = {p.get("containerPort") for p in container.get("portMappings", [])}
    if port not in ports:
        raise InvalidParameterException(
            f"The container {name} did not have a container port {port} defined.")


def _check_target_group(store, arn: str, network_mode: str) -> None:
    lookup = store.contributions.target_group
    if lookup is None:  # a store without ELBv2 behind it (unit tests)
        return
    group = lookup(arn)
    if group is None:
        # What ECS says of a target group it cannot find (or may not read).
        raise InvalidParameterException(
            "Unable to assume role and validate the specified targetGroupArn. Please verify "
            "that the ECS service role being passed has the proper permissions.")
    if not group.load_balancer_arns:
        raise InvalidParameterException(
            f"The target group with targetGroupArn {arn} does not have an associated load "
            "balancer.")
    wanted = _TARGET_TYPE.get(network_mode)
    if wanted is not None and group.target_type != wanted:
        raise InvalidParameterException(
            f"The provided target group {arn} has target type {group.target_type}, which is "
            f"incompatible with the {network_mode} network mode specified in the task "
            "definition.")

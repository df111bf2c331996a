"""The checks ECS makes of a service's (or task set's) `serviceRegistries`: one registry at
most, a Cloud Map service's ARN, and a container and port, or a port, as the task definition's
network mode and the registry's DNS records call for (the ServiceRegistry shape's documentation).

The records are asked of Cloud Map (moto's, through the lookup the app factory plugs into the
store's contributions); a registry it does not know, or one without DNS records (an HTTP
namespace's), is held to the network mode's rules only. Where ECS's wording is known (users
report it) it is used; the rest is the emulator's own.
"""

from __future__ import annotations

import re

from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.service_load_balancers import check_container

_REGISTRY_ARN = re.compile(
    r"^arn:aws(-[a-z]+)*:servicediscovery:[a-z0-9-]+:\d{12}:service/srv-[A-Za-z0-9]+$")


def check_registries(store, registries: list[dict] | None, definition) -> None:
    """`registries` as CreateService, UpdateService or CreateTaskSet give them; `definition`
    the task definition they are for (None: an EXTERNAL service's, whose task sets have it)."""
    if not registries:
        return
    # CreateService's reference: "Each service may be associated with one service registry."
    if len(registries) > 1:
        raise InvalidParameterException(
            "Each service may be associated with one service registry; multiple service "
            "registries for each service isn't supported.")
    registry = registries[0]
    arn = registry.get("registryArn") or ""
    if not _REGISTRY_ARN.match(arn):
        raise InvalidParameterException(
            f"Invalid service registry ARN {arn!r}: expected the ARN of a Cloud Map service, "
            "arn:aws:servicediscovery:<region>:<account>:service/srv-<id>.")
    _check_owner(store, arn)
    has_name, has_container_port = (registry.get("containerName") is not None,
                                    registry.get("containerPort") is not None)
    if has_name != has_container_port:
        raise InvalidParameterException(
            "serviceRegistries: containerName and containerPort must be given together.")
    if definition is None:
        return
    if has_name:
        check_container(definition, registry)
    network_mode = definition.spec.get("networkMode", "bridge")
    _check_for_network_mode(registry, network_mode)
    _check_for_records(store, registry, arn, network_mode)


def _check_owner(store, arn: str) -> None:
    """A registry of this account and region only: tasks register their addresses in it, so
    another account's would take this account's tasks (and tell whether the id exists there).
    AWS reaches another account's Cloud Map only through a namespace shared with AWS RAM, which
    the emulator does not model."""
    region, account = arn.split(":")[3:5]
    if (account, region) != (store.account, store.region):
        raise InvalidParameterException(
            f"Invalid service registry ARN {arn!r}: the Cloud Map service must be in this "
            f"account ({store.account}) and region ({store.region}).")


# ECS's words (users report them).
NOT_BOTH = ("Specify a value for either 'port' or the 'containerName' and 'containerPort' "
            "combination, but not both. Remove one and retry.")
BRIDGE_OR_HOST = ("When specifying 'host' or 'bridge' for networkMode, values for "
                  "'containerName' and 'containerPort' must be specified from the task "
                  "definition. Registry: {arn}")


def _check_for_network_mode(registry: dict, network_mode: str) -> None:
    has_port = registry.get("port") is not None
    has_container = registry.get("containerName") is not None
    if has_port and has_container:
        raise InvalidParameterException(NOT_BOTH)
    # bridge and host tasks share their instance's address: only a container's port (its
    # host port) tells them apart, so a bare port is not enough.
    if network_mode != "awsvpc" and not has_container:
        raise InvalidParameterException(
            BRIDGE_OR_HOST.format(arn=registry.get("registryArn") or ""))


def _check_for_records(store, registry: dict, arn: str, network_mode: str) -> None:
    lookup = store.contributions.cloud_map_dns_records
    records = lookup(arn) if lookup is not None else None
    if records is None or "SRV" in records:
        return
    if network_mode != "awsvpc":
        # The developer guide: with bridge or host, SRV is the only record type supported.
        raise InvalidParameterException(
            f"serviceRegistries: the service registry {arn} has no SRV record, the only DNS "
            f"record type supported with the {network_mode} network mode.")
    # A registry without an SRV record has no use for a port (ECS's words).
    if registry.get("port") is not None:
        raise InvalidParameterException(
            "A port was provided but is not required by the specified service registry")
    if registry.get("containerPort") is not None:
        raise InvalidParameterException(
            "The values specified for serviceRegistries do not require a value for "
            "'containerPort'. Remove the value and retry.")

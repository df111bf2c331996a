"""UpdateContainerAgent: a container instance's agent updated to the newest version we know.

ECS walks an update through PENDING, STAGING, STAGED, UPDATING and UPDATED while the agent
downloads and restarts itself; here each step takes STEP_S, and the instance reports the new
agentVersion once UPDATED. The step is a function of the clock (`progress`), so no worker has to
advance it. The newest version is the one the local Docker host reports: it never has an update.
"""

from __future__ import annotations

import datetime as dt

from emulator.ecs.errors import (
    InvalidParameterException,
    MissingVersionException,
    NoUpdateAvailableException,
    UpdateInProgressException,
)
from emulator.ecs.model import ContainerInstance, utcnow

STEPS = ("PENDING", "STAGING", "STAGED", "UPDATING", "UPDATED")
STEP_S = 0.5


def start(store, cluster_ref: str | None, ref: str) -> ContainerInstance:
    from emulator.ecs.local_instance import AGENT_VERSION as LATEST_AGENT_VERSION

    cluster = store.cluster(cluster_ref)
    instance = store.find_container_instance(cluster.name, ref)
    if instance is None:
        raise InvalidParameterException(f"Container instance {ref} was not found in the cluster.")
    status, _ = progress(instance)
    if status not in (None, "UPDATED", "FAILED"):
        raise UpdateInProgressException(
            f"An agent update is already in progress on container instance {instance.instance_id}.")
    current = version_info(instance).get("agentVersion")
    if not current or _parsed(current) is None:
        raise MissingVersionException(
            "Amazon ECS is unable to determine the current version of the Amazon ECS container "
            f"agent on container instance {instance.instance_id}.")
    if _parsed(current) >= _parsed(LATEST_AGENT_VERSION):
        raise NoUpdateAvailableException(
            f"There is no update available for the agent on container instance "
            f"{instance.instance_id}: version {current} is the latest.")
    instance.version_info = version_info(instance)
    instance.agent_update_started = utcnow()
    instance.agent_update_target = LATEST_AGENT_VERSION
    instance.version += 1
    return instance


def progress(instance: ContainerInstance, now: dt.datetime | None = None) -> tuple[str | None, str | None]:
    """(agentUpdateStatus, the version the agent runs once UPDATED) at `now`."""
    if instance.agent_update_started is None:
        return None, None
    elapsed = ((now or utcnow()) - instance.agent_update_started).total_seconds()
    step = min(int(elapsed / STEP_S), len(STEPS) - 1)
    return STEPS[step], instance.agent_update_target


def version_info(instance: ContainerInstance) -> dict:
    """The instance's versionInfo, with the agentVersion of a finished update."""
    status, target = progress(instance)
    if status == "UPDATED":
        return {**instance.version_info, "agentVersion": target}
    return instance.version_info


def _parsed(version: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version.lstrip("v").split("."))
    except ValueError:
        return None

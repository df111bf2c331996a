"""Ordered statuses of tasks and containers, as ECS shows them.

IntEnum, so progress is a comparison (`known >= TaskStatus.RUNNING`), as in amazon-ecs-agent.
A desired status only moves forward, which is what makes StopTask idempotent.
"""

from __future__ import annotations

from enum import IntEnum


class TaskStatus(IntEnum):
    PROVISIONING = 10
    PENDING = 20
    ACTIVATING = 30
    RUNNING = 40
    DEACTIVATING = 50
    STOPPING = 60
    DEPROVISIONING = 70
    STOPPED = 80
    DELETED = 90


class ContainerStatus(IntEnum):
    PENDING = 10
    PULLED = 15  # images ready; ECS still shows PENDING
    CREATED = 20  # ECS still shows PENDING
    RUNNING = 40
    STOPPED = 80

    @property
    def api_status(self) -> str:
        """What DescribeTasks shows: ECS folds the agent's internal steps into PENDING."""
        if self <= ContainerStatus.CREATED:
            return "PENDING"
        return self.name


class HealthStatus(IntEnum):
    UNKNOWN = 0
    HEALTHY = 1
    UNHEALTHY = 2

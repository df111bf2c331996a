"""What every container sees in its environment, as on ECS: the region, the execution
environment, the metadata endpoint, the agent's API (ECS_AGENT_URI), and (unless turned off)
AWS_ENDPOINT_URL back at the emulator so the task's own SDK calls stay local."""

from __future__ import annotations

from typing import Callable

from emulator.engine.hooks import TaskHook


def container_key(task, container) -> str:
    """The path element naming one container of one task in metadata URLs (task ids are 32 hex)."""
    return f"{task.id}-{container.name}"


class BaseEnvironment(TaskHook):
    def __init__(self, endpoint_for_containers: Callable[[object], str], inject_endpoint: bool):
        # Asked lazily: the address containers reach us on exists once Docker's network does;
        # for a task, as its engine's containers reach us (engines.py).
        self._endpoint = endpoint_for_containers
        self._inject_endpoint = inject_endpoint

    def environment(self, store, task, container) -> dict[str, str]:
        endpoint = self._endpoint(task)
        key = container_key(task, container)
        environment = {
            "AWS_REGION": store.region,
            "AWS_DEFAULT_REGION": store.region,
            "AWS_EXECUTION_ENV": "AWS_ECS_FARGATE" if task.launch_type == "FARGATE" else "AWS_ECS_EC2",
            "ECS_CONTAINER_METADATA_URI_V4": f"{endpoint}/v4/{key}",
            "ECS_CONTAINER_METADATA_URI": f"{endpoint}/v3/{key}",
            # The agent's API: the task scale-in protection endpoint (metadata/agent_routes.py).
            "ECS_AGENT_URI": f"{endpoint}/api/{key}",
        }
        if self._inject_endpoint:
            environment["AWS_ENDPOINT_URL"] = endpoint
        return environment

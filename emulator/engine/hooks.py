"""Extension points of the task engine: what other parts of the emulator add to a task's life.

Each hook is an object with any of these methods; the engine calls them in order. Secrets and
environment files, the metadata and credentials endpoints, ECR image resolution, log shipping
and load balancer registration each live in their own hook, not in the runner.
"""

from __future__ import annotations

from emulator.runtime.base import RegistryAuth


class TaskSetupError(Exception):
    """A task cannot start for a reason ECS reports (e.g. ResourceInitializationError: ...)."""


class TaskHook:
    def resolve_image(self, store, image: str, engine: str | None = None
                      ) -> tuple[str, RegistryAuth | None] | None:
        """Another name for the Docker Engine `engine` (None: the default) to run `image` by,
        with credentials; None leaves it as it is."""
        return None

    def environment(self, store, task, container) -> dict[str, str]:
        """Variables to add to a container's environment. May raise TaskSetupError."""
        return {}

    def before_create(self, store, task) -> None:
        """Checks before containers are created (e.g. the log group exists). May raise."""

    def on_running(self, store, task) -> None:
        """The task reached RUNNING (register targets, start shipping logs, ...)."""

    def on_stopping(self, store, task) -> None:
        """The task is about to stop its containers (deregister targets, ...)."""

    def on_stopped(self, store, task) -> None:
        """The containers have exited; flush what is left (logs) before STOPPED is reported."""

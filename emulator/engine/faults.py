"""Faults on purpose: what AWS or a crash would do to a running task, for users to test against.

- Spot interruption of a FARGATE_SPOT task, as AWS does it: the task's desired status becomes
  STOPPED with stopCode SpotInterruption and stoppedReason "Your Spot Task was interrupted."
  (the "ECS Task State Change" event announces it), its containers get SIGTERM at once, and
  SIGKILL when the warning period (ECS_EMULATOR_SPOT_WARNING, 120 s as on AWS) or their own
  stopTimeout runs out, whichever comes first. A service launches a replacement at once.
- Kill: a signal (SIGKILL unless told) to one of the task's containers, as a crash; when it is
  essential the task stops (EssentialContainerExited) and a service replaces it.
- Health: the task's health checks report UNHEALTHY (or HEALTHY again), and so do its load
  balancer targets and Cloud Map instances; a service replaces an unhealthy task once its
  healthCheckGracePeriodSeconds is over.

No Flask here: emulator/faults_routes.py serves these under /_emulator/tasks/.
"""

from __future__ import annotations

from emulator.ecs.errors import InvalidParameterException
from emulator.engine.container_specs import DEFAULT_STOP_TIMEOUT_S
from emulator.runtime.status import ContainerStatus, HealthStatus, TaskStatus

EXTENSION = "faults"  # the key of Faults in the Flask app's extensions (faults_routes.py)
SPOT_PROVIDER = "FARGATE_SPOT"
SPOT_STOP_CODE = "SpotInterruption"
SPOT_REASON = "Your Spot Task was interrupted."
HEALTH_STATES = {"HEALTHY": HealthStatus.HEALTHY, "UNHEALTHY": HealthStatus.UNHEALTHY}


class Faults:
    def __init__(self, state, engine, settings, load_balancers=None, cloud_map=None):
        self._state = state
        self._engine = engine
        self._settings = settings
        self._load_balancers = load_balancers
        self._cloud_map = cloud_map

    def spot_interruption(self, ref: str, warning_s: int | None = None):
        warning = self._settings.spot_warning_s if warning_s is None else warning_s
        if not isinstance(warning, int) or isinstance(warning, bool) or warning < 0:
            raise InvalidParameterException("warningSeconds must be a whole number >= 0.")
        with self._state.lock:
            store, task = self._live(ref)
            if task.capacity_provider != SPOT_PROVIDER:
                raise InvalidParameterException(
                    f"Task {task.id} does not run on the {SPOT_PROVIDER} capacity provider "
                    f"(it runs on {task.capacity_provider or task.launch_type}); only Fargate "
                    "Spot tasks can be interrupted.")
            longest = max((c.definition.get("stopTimeout", DEFAULT_STOP_TIMEOUT_S)
                           for c in task.containers), default=DEFAULT_STOP_TIMEOUT_S)
            task.stop_grace_s = min(warning, longest)
            store.door.stop(store, task, SPOT_STOP_CODE, SPOT_REASON)
            return task

    def kill(self, ref: str, container_name: str | None = None, signal: str = "SIGKILL"):
        with self._state.lock:
            _, task = self._live(ref)
            container = self._container(task, container_name)
            if container.runtime_id is None or container.known != ContainerStatus.RUNNING:
                raise InvalidParameterException(
                    f"Container {container.name} of task {task.id} is not running.")
            runtime_id = container.runtime_id
            runtime = self._engine.runtime_of(task)  # the task's Docker Engine (engines.py)
        # Outside the lock: Docker may take a moment, and the engine's event watcher, which
        # records the exit, needs the lock.
        runtime.kill_container(runtime_id, signal)
        return task, container

    def set_health(self, ref: str, status: str, container_name: str | None = None):
        if status not in HEALTH_STATES:
            raise InvalidParameterException("status must be HEALTHY or UNHEALTHY.")
        health = HEALTH_STATES[status]
        with self._state.lock:
            store, task = self._live(ref)
            if container_name:
                containers = [self._container(task, container_name)]
            else:
                containers = [c for c in task.containers if c.essential]
            for container in containers:
                container.health = health
            # The task's own verdict, also for tasks whose containers define no health check
            # (whose aggregate is always UNKNOWN): this is the check that fails.
            task.health = health if any(c.essential for c in containers) else task.health
            task.version += 1
            store.changed()
        target_state = "unhealthy" if health == HealthStatus.UNHEALTHY else "healthy"
        targets = self._load_balancers.set_health(task, target_state) if self._load_balancers else 0
        instances = self._cloud_map.set_health(task, status) if self._cloud_map else 0
        return task, targets, instances

    # -- lookups -----------------------------------------------------------------------------------

    def _live(self, ref: str):
        store, task = self.find(ref)
        if task.stop_requested or task.known >= TaskStatus.STOPPED:
            raise InvalidParameterException(
                f"Task {task.id} is already stopping (lastStatus {task.last_status}).")
        return store, task

    def find(self, ref: str):
        """A task by its ARN or its id, in any account and region."""
        for store in self._state.stores():
            task = store.tasks.get(ref)
            if task is None:
                task = next((t for t in store.tasks.values() if t.id == ref), None)
            if task is not None:
                return store, task
        raise InvalidParameterException(f"The referenced task was not found: {ref}", status=404)

    @staticmethod
    def _container(task, name: str | None):
        if name is None:
            chosen = next((c for c in task.containers if c.essential), None)
        else:
            chosen = task.container(name)
        if chosen is None:
            raise InvalidParameterException(f"Task {task.id} has no container {name}.")
        return chosen

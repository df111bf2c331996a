"""ECS's events on the default EventBridge bus of moto, in AWS's shapes (source "aws.ecs").

- "ECS Task State Change": the task as detail (DescribeTasks' fields, timestamps as ISO strings,
  plus updatedAt), sent whenever its lastStatus, desiredStatus or a container's lastStatus
  changes. Sent from the transitions themselves: the task door tells of a task admitted or
  asked to stop (StopTask, the scheduler, a Spot interruption), the task engine of each
  known-status change; both compare with what was last sent, so each change is sent once. No
  store is ever scanned.
- "ECS Service Action": SERVICE_STEADY_STATE (INFO), SERVICE_TASK_START_IMPAIRED (WARN).
- "ECS Deployment State Change": SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED (INFO) and
  _FAILED (ERROR), with the deployment's rollout reason.

moto's put_events delivers to the rules' targets (SQS, CloudWatch Logs, ...) at once. Nothing is
sent while moto is not loaded, or while the account's default bus has no rules: without rules
nobody could receive an event, and a user who only calls ECS should not pay for loading moto.
Everything here runs under the state lock (it is called by listeners that hold it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from emulator.ecs import render
from emulator.ecs.model import utcnow
from emulator.runtime.status import TaskStatus

log = logging.getLogger("emulator.events")

SOURCE = "aws.ecs"
TASK_STATE_CHANGE = "ECS Task State Change"
SERVICE_ACTION = "ECS Service Action"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"
START_IMPAIRED_AFTER = 3  # consecutive failed launches; the scheduler's own threshold
# DescribeTasks fields that ECS leaves out of task events (health is not in them).
_NOT_IN_TASK_EVENTS = ("healthStatus", "tags", "inferenceAccelerators")


class EcsEvents:
    # State a restart keeps (emulator/persistence/parts.py): what each event last showed.
    persistent_fields = ("_task_seen", "_service_seen")

    def __init__(self, state, moto):
        self._state = state
        self._moto = moto
        self._task_seen: dict[str, tuple] = {}  # task ARN -> what its last event showed
        # (service ARN, created at) -> what was last reported; a service made again after a
        # deletion or a reset is another key, so it gets its own first events.
        self._service_seen: dict[tuple, dict] = {}

    # -- listeners ---------------------------------------------------------------------------------

    def on_task_changed(self, store, task) -> None:
        """The task door's watcher (a task admitted, or asked to stop) and the task engine's
        listener (every known-status change)."""
        self._guarded(self._task, store, task)

    def on_service_pass(self, store, service) -> None:
        """The scheduler's listener: after each pass over a service, and after it counted a
        task's change (a failed launch may make starts impaired; a rollback within the same
        pass may reset the count, so it is looked at as soon as it is counted)."""
        self._guarded(self._service, store, service)

    def _guarded(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception:  # events are a side channel: never break the engine or scheduler
            log.exception("sending an ECS event failed")

    # -- tasks -------------------------------------------------------------------------------------

    def _task(self, store, task) -> None:
        # What the event would show of the task's state (cheap: this runs on every change).
        shown = (task.last_status, task.stop_requested,
                 tuple(c.known.api_status for c in task.containers))
        if self._task_seen.get(task.arn) == shown:
            return
        if task.known >= TaskStatus.STOPPED:
            self._task_seen.pop(task.arn, None)  # its last event: nothing changes after STOPPED
        else:
            self._task_seen[task.arn] = shown
        if not self._listening(store):
            return
        detail = {k: v for k, v in render.task(task).items() if k not in _NOT_IN_TASK_EVENTS}
        detail["updatedAt"] = utcnow()
        self._put(store, TASK_STATE_CHANGE, [task.arn], detail)

    # -- services ----------------------------------------------------------------------------------

    def _service(self, store, service) -> None:
        seen = self._seen(service)
        listening = self._listening(store)
        deployments = {}
        for deployment in reversed(service.deployments):  # oldest first: FAILED, then rollback
            deployments[deployment.id] = deployment.rollout_state
            if listening and seen["deployments"].get(deployment.id) != deployment.rollout_state:
                self._deployment_event(store, service, deployment)
        seen["deployments"] = deployments
        if service.steady_reported and not seen["steady"] and listening:
            self._service_action(store, service, "INFO", "SERVICE_STEADY_STATE")
        seen["steady"] = service.steady_reported
        self._impaired(store, service)

    def _impaired(self, store, service) -> None:
        seen = self._seen(service)
        impaired = service.consecutive_failures >= START_IMPAIRED_AFTER
        if impaired and not seen["impaired"] and self._listening(store):
            self._service_action(store, service, "WARN", "SERVICE_TASK_START_IMPAIRED")
        seen["impaired"] = impaired

    def _seen(self, service) -> dict:
        return self._service_seen.setdefault((service.arn, service.created_at), {
            "deployments": {}, "steady": False, "impaired": False})

    def _deployment_event(self, store, service, deployment) -> None:
        name = {"IN_PROGRESS": "SERVICE_DEPLOYMENT_IN_PROGRESS",
                "COMPLETED": "SERVICE_DEPLOYMENT_COMPLETED",
                "FAILED": "SERVICE_DEPLOYMENT_FAILED"}.get(deployment.rollout_state)
        if name is None:
            return
        self._put(store, DEPLOYMENT_STATE_CHANGE, [service.arn], {
            "eventType": "ERROR" if deployment.rollout_state == "FAILED" else "INFO",
            "eventName": name,
            "deploymentId": deployment.id,
            "updatedAt": utcnow(),
            "reason": deployment.rollout_state_reason,
        })

    def _service_action(self, store, service, event_type: str, name: str) -> None:
        self._put(store, SERVICE_ACTION, [service.arn], {
            "eventType": event_type,
            "eventName": name,
            "clusterArn": service.cluster_arn,
            "createdAt": utcnow(),
        })

    # -- EventBridge -------------------------------------------------------------------------------

    def _listening(self, store) -> bool:
        if not self._moto.loaded:
            return False
        bus = self._events(store).event_buses.get("default")
        return bus is not None and bool(bus.rules)

    def _events(self, store):
        return self._moto.backend("events", store.account, store.region)

    def _put(self, store, detail_type: str, resources: list[str], detail: dict) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": detail_type,
            "Resources": resources,
            "Detail": json.dumps(_wire(detail)),
            "Time": utcnow().timestamp(),  # moto takes epoch seconds
        }
        for result in self._events(store).put_events([entry]):
            if "ErrorCode" in result:
                log.warning("EventBridge refused an ECS event: %s", result)


def _wire(value):
    """Drop Nones and write timestamps as ECS does in events: 2020-01-23T17:57:58.226Z."""
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.timezone.utc)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
    return value

"""Waiting for a service to settle, printing what happens meanwhile as the ECS CLI does: the
service's new events, image pulls, tasks that stopped and why, and the counts as they change.

The ECS CLI's --timeout is in minutes and counts from the last change of the running count;
0 returns at once without checking.
"""

from __future__ import annotations

import time

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.cli_commands.tasks import describe_tasks, task_arns, task_id

POLL_S = 1.0


def report_pull(task: dict, reported: set[str]) -> None:
    """Say once per task that its images are being pulled, while they are."""
    if task["lastStatus"] in ("PROVISIONING", "PENDING") and task.get("pullStartedAt") \
            and not task.get("pullStoppedAt") and task["taskArn"] not in reported:
        reported.add(task["taskArn"])
        images = sorted({c.get("image", "") for c in task.get("containers") or []})
        output.info("Pulling images", images=",".join(images), task=task_id(task))


class ServiceWatch:
    def __init__(self, ecs, cluster: str, service: str):
        self.ecs, self.cluster, self.service = ecs, cluster, service
        self.seen_events: set[str] = set()
        self.pulling: set[str] = set()
        self.stopped: set[str] = set()
        self.counts: tuple | None = None
        self._mark_seen()

    def _describe(self) -> dict | None:
        found = self.ecs.describe_services(cluster=self.cluster, services=[self.service])
        return found["services"][0] if found["services"] else None

    def _mark_seen(self) -> None:
        service = self._describe()
        for event in (service or {}).get("events") or []:
            self.seen_events.add(event["id"])
        for task in self._tasks(stopped=True):
            if task["lastStatus"] == "STOPPED":
                self.stopped.add(task["taskArn"])

    def _tasks(self, stopped: bool = False) -> list[dict]:
        arns = task_arns(self.ecs, self.cluster, serviceName=self.service,
                         desiredStatus="STOPPED" if stopped else "RUNNING")
        return describe_tasks(self.ecs, self.cluster, arns)

    def wait(self, timeout_minutes: float, *, deleted: bool = False) -> dict | None:
        """Until the service runs its desired count of tasks, one deployment, and no task is
        still stopping (once deleted: until none of its tasks is left running)."""
        if timeout_minutes == 0:
            return self._describe()
        last_change, last_running = time.monotonic(), None
        while True:
            service = self._describe()
            tasks = self._tasks() + self._tasks(stopped=True)
            self._report_events(service)
            self._report_tasks(tasks)
            counts = (service or {}).get("desiredCount"), (service or {}).get("runningCount")
            if counts != self.counts and service is not None:
                output.info("Service status", desiredCount=counts[0], runningCount=counts[1],
                            serviceName=self.service)
            self.counts = counts
            # Only the running count, as the ECS CLI: a service whose tasks keep failing starts
            # new ones forever, and must still time out.
            if counts[1] != last_running:
                last_running, last_change = counts[1], time.monotonic()
            if self._settled(service, tasks, deleted):
                output.info("ECS Service has reached a stable state",
                            desiredCount=counts[0] or 0, runningCount=counts[1] or 0,
                            serviceName=self.service)
                return service
            if time.monotonic() - last_change > timeout_minutes * 60:
                raise CliError(f"Deployment has not completed: Running count has not changed "
                               f"for {timeout_minutes:g} minutes")
            time.sleep(POLL_S)

    def _settled(self, service: dict | None, tasks: list[dict], deleted: bool) -> bool:
        alive = [t for t in tasks if t["lastStatus"] != "STOPPED"]
        if deleted:
            return not alive
        if service is None:
            raise CliError(f"service {self.service} does not exist")
        stopping = [t for t in alive if t.get("desiredStatus") == "STOPPED"]
        running = [t for t in alive if t["lastStatus"] == "RUNNING"]
        deployments = service.get("deployments") or []
        return (service["runningCount"] == service["desiredCount"] == len(running)
                and service.get("pendingCount", 0) == 0 and len(deployments) <= 1
                and not stopping)

    def _report_events(self, service: dict | None) -> None:
        for event in reversed((service or {}).get("events") or []):
            if event["id"] not in self.seen_events:
                self.seen_events.add(event["id"])
                output.info(event["message"], timestamp=str(event["createdAt"]))

    def _report_tasks(self, tasks: list[dict]) -> None:
        for task in tasks:
            arn = task["taskArn"]
            report_pull(task, self.pulling)
            if task["lastStatus"] == "STOPPED" and arn not in self.stopped:
                self.stopped.add(arn)
                reasons = [c.get("reason") for c in task.get("containers") or [] if c.get("reason")]
                output.info("Task stopped", task=task_id(task),
                            reason=task.get("stoppedReason", ""),
                            **({"containers": "; ".join(reasons)} if reasons else {}))

"""What the dashboard polls: one small JSON document per account and region, built in one pass
over the store under its lock (no Docker call, no rendering of full API shapes), so a page that
polls every second stays cheap with hundreds of tasks. Details (a service's events, a task's
containers) the page reads through the ECS API itself when one is opened.
"""

from __future__ import annotations

import datetime as dt

from emulator.runtime.status import TaskStatus

# Stopped tasks stay describable for an hour; the summary shows only the latest of them.
STOPPED_SHOWN = 100


def summary(state, account: str, region: str) -> dict:
    """Clusters, services and tasks of one account and region."""
    store = state.store_for(account, region)
    with state.lock:
        tasks = list(store.tasks.values())
        live = [t for t in tasks if t.known < TaskStatus.STOPPED]
        stopped = sorted((t for t in tasks if t.known >= TaskStatus.STOPPED),
                         key=lambda t: t.stopped_at or t.created_at, reverse=True)[:STOPPED_SHOWN]
        counts = _service_counts(live)
        document = {
            "account": account,
            "region": region,
            "clusters": [_cluster(c, live) for c in store.clusters.values()],
            "services": [_service(s, counts.get((s.cluster_name, s.name), (0, 0)))
                         for s in store.services.values()],
            "tasks": [_task(t) for t in live + stopped],
            "stoppedNotShown": sum(1 for t in tasks if t.known >= TaskStatus.STOPPED)
            - len(stopped),
        }
    return document


def _service_counts(live: list) -> dict[tuple[str, str], tuple[int, int]]:
    """(cluster, service name) -> (running, pending), as DescribeServices counts them."""
    counts: dict[tuple[str, str], list[int]] = {}
    for task in live:
        if not (task.group or "").startswith("service:") or task.stop_requested:
            continue
        pair = counts.setdefault((task.cluster_name, task.group[len("service:"):]), [0, 0])
        pair[0 if task.known == TaskStatus.RUNNING else 1] += 1
    return {key: (running, pending) for key, (running, pending) in counts.items()}


def _cluster(cluster, live: list) -> dict:
    mine = [t for t in live if t.cluster_name == cluster.name]
    return {
        "name": cluster.name,
        "status": cluster.status,
        "runningTasks": sum(1 for t in mine if t.known == TaskStatus.RUNNING),
        "pendingTasks": sum(1 for t in mine if t.known < TaskStatus.RUNNING),
    }


def _service(service, counts: tuple[int, int]) -> dict:
    primary = service.deployments[0] if service.deployments else None
    return {
        "name": service.name,
        "cluster": service.cluster_name,
        "status": service.status,
        "desired": service.desired_count,
        "running": counts[0],
        "pending": counts[1],
        "taskDefinition": _family_revision(service.task_definition),
        "deployments": len(service.deployments),
        "rolloutState": primary.rollout_state if primary else None,
        "failedTasks": primary.failed_tasks if primary else 0,
        "lastEvent": service.events[0]["message"] if service.events else None,
    }


def _task(task) -> dict:
    # Only what the list shows: at 500 tasks every byte here is half a kilobyte a poll.
    return {
        "id": task.id,
        "cluster": task.cluster_name,
        "group": task.group,
        "taskDefinition": _family_revision(task.definition),
        "lastStatus": task.last_status,
        "desiredStatus": task.desired_status,
        "health": task.health.name,
        "capacity": task.capacity_provider or task.launch_type,
        "createdAt": _ms(task.created_at),
        "stopCode": task.stop_code,
        "version": task.version,
        # Where each published port answers on this host (networkBindings, as DescribeTasks).
        "ports": [{"hostPort": b["hostPort"], "containerPort": b.get("containerPort"),
                   "bindIP": b.get("bindIP"), "protocol": b.get("protocol", "tcp")}
                  for c in task.containers for b in c.network_bindings if b.get("hostPort")],
    }


def _family_revision(definition) -> str | None:
    return f"{definition.family}:{definition.revision}" if definition is not None else None


def _ms(value: dt.datetime | None) -> int | None:
    return int(value.timestamp() * 1000) if value is not None else None


"""The dashboard's view of CloudFormation: the stacks of one account and region (moto serves
CloudFormation; emulator/cloudformation makes our ECS and ECR resources for it), each with its
resources as its events left them and its latest events.

Read from moto's CloudFormation backend through the app's MotoBridge, as the page's other reads
of moto are (CloudWatch Logs): never loading moto for it (until something loaded it, no stack
exists), never calling into the stack engine (a resource map makes a resource on first read).
A resource's row is its latest event: its logical id, type, status, reason and physical id.
"""

from __future__ import annotations

import datetime as dt

EVENTS_SHOWN = 100  # per stack, newest first
_STACK = "AWS::CloudFormation::Stack"


def stacks(moto, account: str, region: str) -> dict:
    if not moto.loaded:
        return {"stacks": []}
    backend = moto.backend("cloudformation", account, region)
    found = list(backend.stacks.values()) + list(backend.deleted_stacks.values())
    found.sort(key=lambda s: s.creation_time, reverse=True)
    return {"stacks": [_stack(s) for s in found]}


def _stack(stack) -> dict:
    events = list(stack.events)  # a copy: the stack engine may append as we read
    resources: dict[str, dict] = {}
    for event in events:  # oldest first: the last word on each resource wins
        if event.resource_type == _STACK and event.logical_resource_id == stack.name:
            continue
        resources[event.logical_resource_id] = {
            "logicalId": event.logical_resource_id,
            "type": event.resource_type,
            "physicalId": event.physical_resource_id or _kept(resources, event),
            "status": event.resource_status,
            "reason": event.resource_status_reason,
            "updatedAt": _ms(event.timestamp),
        }
    latest = next((e for e in reversed(events) if e.resource_type == _STACK
                   and e.logical_resource_id == stack.name), None)
    return {
        "name": stack.name,
        "stackId": stack.stack_id,
        "status": stack.status,
        "statusReason": latest.resource_status_reason if latest else None,
        "description": stack.description,
        "createdAt": _ms(stack.creation_time),
        "resources": sorted(resources.values(), key=lambda r: r["logicalId"]),
        "events": [_event(e) for e in reversed(events[-EVENTS_SHOWN:])],
    }


def _kept(resources: dict, event) -> str:
    """An event without a physical id (IN_PROGRESS, a failure) leaves the one known before."""
    return resources.get(event.logical_resource_id, {}).get("physicalId", "")


def _event(event) -> dict:
    return {
        "id": str(event.event_id),
        "timestamp": _ms(event.timestamp),
        "logicalId": event.logical_resource_id,
        "type": event.resource_type,
        "status": event.resource_status,
        "reason": event.resource_status_reason,
        "physicalId": event.physical_resource_id,
    }


def _ms(moment) -> int | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # moto's clock: naive UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int(moment.timestamp() * 1000)

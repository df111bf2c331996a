"""Daemon task definitions: RegisterDaemonTaskDefinition, Describe, Delete and List.

A daemon task definition is a task definition of its own kind (ARN `daemon-task-definition/
family:revision`, its own families and revisions). It is checked by RegisterTaskDefinition's rules
(emulator/ecs/task_definition_rules.py) as the bridge-mode EC2 task definition it runs as, and
kept as a model.TaskDefinition, so the engine runs daemon tasks as any other; `request` keeps what
the caller sent, which is what the Describe calls show.

Deleting one makes it DELETE_IN_PROGRESS while an ACTIVE daemon still uses it (the daemons that
use it keep running, as the API reference says), and DELETED otherwise.
"""

from __future__ import annotations

import copy

from api_shapes.requests import given
from emulator.aws.context import RequestContext
from emulator.ecs import arns
from emulator.ecs import task_definition_attributes as attributes
from emulator.ecs import task_definition_rules as rules
from emulator.ecs import task_definitions
from emulator.ecs.errors import ClientException, InvalidParameterException
from emulator.ecs.model import TaskDefinition, utcnow
from emulator.ecs.store import EcsStore

RESOURCE = "daemon-task-definition"
NOT_FOUND = "Unable to describe daemon task definition."


def register(store: EcsStore, ctx: RequestContext, request) -> TaskDefinition:
    """RegisterDaemonTaskDefinition, its request as named values; what it sent but tags is kept
    in wire form (`TaskDefinition.request`), as the Describe calls echo it."""
    sent = copy.deepcopy({k: v for k, v in given(request).items() if k != "tags"})
    for index, container in enumerate(sent["containerDefinitions"]):
        if not container.get("name"):
            raise ClientException(f"Container.name should not be null or empty "
                                  f"(containerDefinitions[{index}]).")
    spec = rules.normalize(_as_task_definition(sent))
    family = spec["family"]
    revision = store.daemon_last_revision.get(family, 0) + 1
    definition = TaskDefinition(
        family=family, revision=revision,
        arn=arns.build(store, RESOURCE, f"{family}:{revision}"),
        spec=spec, compatibilities=["EC2"], requires_attributes=attributes.required(spec),
        registered_by=arns.principal_root(ctx), tags=list(request.tags or []),
        request=sent,
    )
    store.daemon_last_revision[family] = revision
    store.daemon_task_definitions.setdefault(family, {})[revision] = definition
    return definition


def resolve(store: EcsStore, ref: str, *, latest_active: bool = True) -> TaskDefinition | None:
    """"family" (its latest ACTIVE revision), "family:revision" or an ARN; None if not found."""
    parsed = parse_reference(store, ref)
    if parsed is None:
        return None
    family, revision = parsed
    revisions = store.daemon_task_definitions.get(family, {})
    if revision is None:
        active = [d for d in revisions.values() if d.status == "ACTIVE"] if latest_active \
            else list(revisions.values())
        return max(active, key=lambda d: d.revision, default=None)
    return revisions.get(revision)


def parse_reference(store: EcsStore, ref: str) -> tuple[str, int | None] | None:
    """A daemon task definition's reference, read as a task definition's (its family's rules)."""
    return task_definitions.parse_reference(store, ref, RESOURCE)


def describe(store: EcsStore, ref: str) -> TaskDefinition:
    definition = resolve(store, ref)
    if definition is None or definition.status == "DELETED":
        raise ClientException(NOT_FOUND)
    return definition


def delete(store: EcsStore, ref: str, in_use: bool) -> TaskDefinition:
    if ":" not in ref.rsplit("/", 1)[-1]:
        raise InvalidParameterException(
            "The daemon task definition must be given as family:revision or a full ARN.")
    definition = describe(store, ref)
    if definition.status != "ACTIVE":
        raise ClientException(
            f"The daemon task definition {definition.family}:{definition.revision} is "
            f"{definition.status} and cannot be deleted.")
    definition.status = "DELETE_IN_PROGRESS" if in_use else "DELETED"
    definition.delete_requested_at = utcnow()
    return definition


def listed(store: EcsStore, request) -> list[TaskDefinition]:
    """ListDaemonTaskDefinitions' filters (its request as named values) and order (family, then
    revision; DESC reverses)."""
    status = request.status or "ACTIVE"
    found = []
    for family, revisions in store.daemon_task_definitions.items():
        if request.family is not None and family != request.family:
            continue
        if request.family_prefix is not None and not family.startswith(request.family_prefix):
            continue
        kept = [d for d in revisions.values() if d.status != "DELETED"
                and (status == "ALL" or d.status == status)]
        if request.revision == "LAST_REGISTERED":
            kept = [max(kept, key=lambda d: d.revision)] if kept else []
        found += kept
    return sorted(found, key=lambda d: (d.family, d.revision), reverse=request.sort == "DESC")


def _as_task_definition(sent: dict) -> dict:
    """The task definition document (task_definition_rules) a daemon task definition amounts to."""
    spec = {k: v for k, v in sent.items() if k not in ("ipcMode",)}
    spec["networkMode"] = "bridge"
    spec["requiresCompatibilities"] = ["EC2"]
    if sent.get("pidMode") == "shared":
        spec["pidMode"] = "host"
    else:
        spec.pop("pidMode", None)
    spec["volumes"] = [{"name": v["name"], "host": v.get("host", {})}
                       for v in sent.get("volumes", []) if v.get("name")]
    return spec

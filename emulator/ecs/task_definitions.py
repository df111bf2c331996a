"""Task definition operations: register, resolve a reference, list, deregister, delete.

Revisions count up per family and are never reused, even after deregistration or deletion.
A deregistered revision is INACTIVE and stays describable; DeleteTaskDefinitions moves INACTIVE
revisions to DELETE_IN_PROGRESS, where they stay (ECS finishes the deletion once nothing uses
them; this emulator keeps them, so tasks that still refer to them can be described).

Other layers (tasks, services) use `resolve` to turn a user's taskDefinition reference into a
TaskDefinition the way ECS does.
"""

from __future__ import annotations

from api_shapes.requests import given
from emulator.aws.context import RequestContext
from emulator.ecs import arns
from emulator.ecs import task_definition_attributes as attributes
from emulator.ecs import task_definition_compat as compat
from emulator.ecs import task_definition_rules as rules
from emulator.ecs.errors import ClientException, InvalidParameterException
from emulator.ecs.model import TaskDefinition, utcnow
from emulator.ecs.store import EcsStore
from emulator.ecs.tags import validate_tags

MAX_DELETE = 10
NOT_FOUND = "Unable to describe task definition."


def register(store: EcsStore, ctx: RequestContext, request) -> TaskDefinition:
    """RegisterTaskDefinition, its request as named values. The definition is kept as the
    document ECS stores and describes (model.TaskDefinition.spec): the request's members but
    tags, in wire form, checked and normalized by task_definition_rules."""
    if request.tags is not None and not request.tags:
        # AWS refuses an empty list where it could have been left out (GitHub:
        # fabfuel/ecs-deploy#146, kayac/ecspresso#296 quote it)
        raise ClientException("Tags can not be empty.")
    spec = rules.normalize({k: v for k, v in given(request).items() if k != "tags"})
    compatibilities = compat.compatibilities(spec)
    tags = list(request.tags or [])
    validate_tags(tags)
    family = spec["family"]
    revision = store.last_revision.get(family, 0) + 1
    definition = TaskDefinition(
        family=family,
        revision=revision,
        arn=arns.task_definition(store, family, revision),
        spec=spec,
        compatibilities=compatibilities,
        requires_attributes=attributes.required(spec),
        registered_by=arns.principal_root(ctx),
        tags=tags,
    )
    store.last_revision[family] = revision
    store.task_definitions.setdefault(family, {})[revision] = definition
    return definition


def parse_reference(store: EcsStore, ref: str, resource: str = "task-definition"
                    ) -> tuple[str, int | None] | None:
    """"family", "family:revision" or an ARN -> (family, revision or None); None if malformed
    or an ARN of another account or region, or of another `resource` (daemon task definitions
    are named by the same rules, under their own resource type)."""
    parsed = arns.parse(ref)
    if parsed is not None:
        if not parsed.in_store(store, resource):
            return None
        arns.refuse_extra_parts(ref, parsed.resource, slashes=0, colons=1)  # family:revision
        ref = parsed.resource
    elif ref.startswith("arn:"):
        return None
    family, sep, revision = ref.partition(":")
    if not rules.NAME.match(family):
        return None
    if not sep:
        return family, None
    if not revision.isdigit():
        return None
    return family, int(revision)


def resolve(store: EcsStore, ref: str) -> TaskDefinition | None:
    """A family alone means its latest ACTIVE revision; family:revision and ARNs name one
    revision in any status."""
    parsed = parse_reference(store, ref)
    if parsed is None:
        return None
    family, revision = parsed
    revisions = store.task_definition_revisions(family)
    if revision is not None:
        return revisions.get(revision)
    active = [r for r, d in revisions.items() if d.status == "ACTIVE"]
    return revisions[max(active)] if active else None


def describe(store: EcsStore, ref: str) -> TaskDefinition:
    if not ref.strip():
        # AWS's answer to an empty reference (GitHub: awslabs/fargatecli#11 quotes it)
        raise InvalidParameterException("Task Definition can not be blank.")
    definition = resolve(store, ref)
    if definition is None:
        raise ClientException(NOT_FOUND)
    return definition


def list_arns(store: EcsStore, status: str | None = None, family: str | None = None,
              descending: bool = False) -> list[TaskDefinition]:
    """The revisions ListTaskDefinitions shows, in its order (family, then revision). ECS
    matches its familyPrefix against the whole family name."""
    status = status or "ACTIVE"
    found = [
        d
        for name, revisions in store.task_definitions.items()
        if family is None or name == family
        for d in revisions.values()
        if d.status == status
    ]
    return sorted(found, key=sort_key, reverse=descending)


def sort_key(definition: TaskDefinition) -> tuple[str, int]:
    return definition.family, definition.revision


def list_families(store: EcsStore, status: str | None = None,
                  prefix: str | None = None) -> list[str]:
    """ACTIVE: families with an ACTIVE revision; INACTIVE: those without; ALL (default): both."""
    status = status or "ALL"
    prefix = prefix or ""
    families = []
    for name, revisions in store.task_definitions.items():
        if not name.startswith(prefix) or not revisions:
            continue
        active = any(d.status == "ACTIVE" for d in revisions.values())
        if status == "ALL" or (status == "ACTIVE") == active:
            families.append(name)
    return sorted(families)


def deregister(store: EcsStore, ref: str) -> TaskDefinition:
    parsed = parse_reference(store, ref)
    if parsed is None:
        raise ClientException(f"Invalid task definition '{ref}'. Use family:revision or an ARN.")
    family, revision = parsed
    if revision is None:
        raise ClientException("Revision is missing.")
    definition = store.task_definition_revisions(family).get(revision)
    if definition is None:
        raise ClientException("The specified task definition does not exist.")
    if definition.status == "ACTIVE":
        definition.status = "INACTIVE"
        definition.deregistered_at = utcnow()
    return definition


def delete(
    store: EcsStore, refs: list[str]
) -> tuple[list[TaskDefinition], list[tuple[str, str]]]:
    """DeleteTaskDefinitions: INACTIVE revisions move to DELETE_IN_PROGRESS; the others fail
    with (reference, reason)."""
    if not refs:
        raise InvalidParameterException(
            "size of TaskDefinition references list must be greater than 0"
        )
    if len(refs) > MAX_DELETE:
        raise InvalidParameterException(
            f"Size of TaskDefinition references list cannot exceed {MAX_DELETE}"
        )
    deleted, failures = [], []
    for ref in refs:
        definition, reason = _deletable(store, ref)
        if definition is None:
            failures.append((ref, reason))
            continue
        if definition.status == "INACTIVE":
            definition.status = "DELETE_IN_PROGRESS"
            definition.delete_requested_at = utcnow()
        deleted.append(definition)
    return deleted, failures


def _deletable(store: EcsStore, ref: str) -> tuple[TaskDefinition | None, str | None]:
    parsed = parse_reference(store, ref)
    if parsed is None or parsed[1] is None:
        return None, (
            "The specified task definition identifier is invalid. Specify a valid name or ARN "
            "and try again."
        )
    definition = store.task_definition_revisions(parsed[0]).get(parsed[1])
    if definition is None:
        return None, (
            "The specified task definition does not exist. Specify a valid account, family, "
            "revision and try again."
        )
    if definition.status == "ACTIVE":
        return None, (
            "The specified task definition is still in ACTIVE status. Please deregister the "
            "target and try again."
        )
    return definition, None

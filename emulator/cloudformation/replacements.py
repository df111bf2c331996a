"""The resources a stack update replaced or took out of the template, kept until the update's
outcome is known, as CloudFormation keeps them.

On AWS a replacement is created first and the resources that refer to it are pointed at it; the
old physical resource is deleted only in the clean-up phase after the update succeeded
(UPDATE_COMPLETE_CLEANUP_IN_PROGRESS, then UPDATE_COMPLETE), or kept with `UpdateReplacePolicy:
Retain`. If the update fails, the rollback points the stack back at the old resource (still
there, still in use) and deletes the new one (UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS, then
UPDATE_ROLLBACK_COMPLETE). A resource taken out of the template goes in the clean-up phase too
(kept with `DeletionPolicy: Retain`), so a rollback finds it still there. moto's engine knows
none of this (it deletes removed resources first, and its replacements delete the old one at
once): our resource types mark a replacement (`ApiResource.replaces`), stack_life's update
wrapper hands it here, `run_update` drives the phases. The lists live on the stack's resource
map, so persisted state keeps them: what an operation the emulator's end cut short had yet to
delete is deleted later (`carry_over`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from emulator.cloudformation.resource import ResourceFailed

log = logging.getLogger(__name__)

REPLACING = "Requested update requires the creation of a new physical resource; hence creating one."


@dataclass
class Replaced:
    logical_id: str
    kind: str
    old: object
    new: object
    policy: str  # the UpdateReplacePolicy of the template that asked for the replacement
    in_rollback: bool  # replaced while rolling back: the update's version is the one to go


def _replaced(resources_map) -> list[Replaced]:
    if not hasattr(resources_map, "_emulator_replaced"):
        resources_map._emulator_replaced = []
    return resources_map._emulator_replaced


@dataclass
class Removed:
    logical_id: str
    resource: object
    resource_json: dict  # from the template that had it: its Type and DeletionPolicy


def _removed(resources_map) -> list[Removed]:
    if not hasattr(resources_map, "_emulator_removed"):
        resources_map._emulator_removed = []
    return resources_map._emulator_removed


def _owed(resources_map) -> list[Removed]:
    """What an operation the emulator's end cut short had yet to delete (carry_over)."""
    if not hasattr(resources_map, "_emulator_owed"):
        resources_map._emulator_owed = []
    return resources_map._emulator_owed


def begin(resources_map) -> None:
    """A stack update starts: nothing replaced yet."""
    carry_over(resources_map)
    resources_map._emulator_updating = True


def carry_over(resources_map) -> None:
    """The lists an operation leaves are cleared when it ends (`end`); lists still there when the
    next one begins were read back from persisted state, the operation cut short by the
    emulator's end (kill -9) in its update, its rollback or its clean-up phase. What they hold
    that the stack no longer uses (a replaced resource, or its replacement once the rollback
    put the old one back; a resource out of the stack's template) is owed a delete, by the next
    clean-up phase (an update's or a rollback's) or a DeleteStack, which would otherwise not
    know it. Not for ContinueUpdateRollback, which rolls back with them (`restore`)."""
    if not _replaced(resources_map) and not _removed(resources_map):
        return  # the operation before ended as operations do
    parsed = resources_map._parsed_resources
    owed = _owed(resources_map)
    for entry in _replaced(resources_map):
        spare = entry.new if parsed.get(entry.logical_id) is entry.old else entry.old
        if spare is entry.old and entry.policy == "Retain" and not entry.in_rollback:
            continue  # UpdateReplacePolicy: Retain keeps the replaced one
        owed.append(Removed(entry.logical_id, spare, {"Type": entry.kind}))
    template = resources_map._resource_json_map or {}
    owed.extend(entry for entry in _removed(resources_map) if entry.logical_id not in template)
    _replaced(resources_map).clear()
    _removed(resources_map).clear()


def wrap_resource_map_delete(original):
    """ResourceMap.delete (a stack's delete; a failed create's rollback, which has none of
    this): first what an operation cut short owed a delete (carry_over), which the stack's
    template, all moto's delete reads, may not have."""

    def delete(self):
        from emulator.cloudformation.stack_life import stack_of

        stack = stack_of(self)
        if stack is not None:
            carry_over(self)
            if _owed(self):
                _delete_all(stack, [])
        self._emulator_deleting_all = True  # in dependency order (stack_life._still_used)
        try:
            try:
                return original(self)
            except Exception:
                if not _held_only_by_order(self):
                    raise
            # Every resource left waits for another left: a circle (DependsOn both ways, in a
            # stack made before such templates were refused) that no order can undo. Once more,
            # in moto's order, as nothing else would ever delete them.
            self._emulator_deleting_all = False
            return original(self)
        finally:
            self._emulator_deleting_all = False
            self.__dict__.pop("_emulator_delete_refs", None)  # stack_life._still_used's

    return delete


def _held_only_by_order(resources_map) -> bool:
    """Whether the delete stopped only because each resource left is still referred to by
    another left (its last round deleted nothing and tried to delete nothing); a resource
    whose delete failed is referred to by none, and holds what it refers to, as on AWS."""
    from emulator.cloudformation.stack_life import _still_used

    template = resources_map._resource_json_map
    left = [logical_id for logical_id, resource in resources_map._parsed_resources.items()
            if resource is not None and not isinstance(resource, str)
            and isinstance(template.get(logical_id), dict)
            and template[logical_id].get("DeletionPolicy") != "Retain"]
    return bool(left) and all(_still_used(resources_map, logical_id) for logical_id in left)


def end(resources_map) -> None:
    resources_map._emulator_updating = False
    for resource in resources_map._parsed_resources.values():
        if getattr(resource, "attempted", None) is not None:
            resource.attempted = None  # a half-way update matters only to this one's rollback
    _replaced(resources_map).clear()
    _removed(resources_map).clear()


def wrap_resource_map_update(original):
    """ResourceMap.update, during a stack update (or its rollback): the resources taken out of
    the template are kept for the clean-up phase instead of deleted first; its success is the
    end of the update's work and the start of the clean-up phase (moto's Stack.update and
    ExecuteChangeSet then record UPDATE_COMPLETE)."""

    from emulator.cloudformation.update_scope import adjusted_diff

    def update(self, template, parameters=None):
        if not getattr(self, "_emulator_updating", False):
            return original(self, template, parameters)

        def removals_kept(diff, _template):
            for name in diff["Remove"]:
                resource = self._parsed_resources.get(name)
                if resource is not None and not isinstance(resource, str):
                    _removed(self).append(Removed(name, resource, self._resource_json_map[name]))
            diff["Remove"] = []
            return diff

        with adjusted_diff(self, removals_kept):
            original(self, template, parameters)
        if not getattr(self, "rolling_back", False):  # set by stack_life.run_update
            from emulator.cloudformation.stack_life import stack_of

            stack = stack_of(self)
            if stack is not None:
                clean_up_after_update(stack)

    return update


def record(stack, resources_map, logical_id: str, kind: str, resource, resource_json) -> None:
    """After a resource's update: if it was a replacement, keep the old one for the clean-up
    phase and record CloudFormation's events of a replacement."""
    from emulator.cloudformation.stack_life import add_event

    old = getattr(resource, "replaces", None)
    if old is None:
        return
    resource.replaces = None  # hold the old one here only
    for attribute in ("logical_resource_id", "cf_resource_type"):
        if not hasattr(old, attribute):
            setattr(old, attribute, logical_id if attribute == "logical_resource_id" else kind)
    _replaced(resources_map).append(Replaced(
        logical_id, kind, old, resource, str(resource_json.get("UpdateReplacePolicy", "Delete")),
        getattr(resources_map, "rolling_back", False)))
    add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", old.physical_resource_id, REPLACING)
    add_event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", resource.physical_resource_id,
              "Resource creation Initiated")


def clean_up_after_update(stack) -> None:
    """The update succeeded: delete the replaced resources and those out of the template, or
    keep those whose UpdateReplacePolicy (DeletionPolicy) is Retain."""
    stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    doomed = []
    for entry in reversed(_replaced(stack.resource_map)):
        if entry.policy == "Retain":
            _skip(stack, entry.logical_id, entry.kind, entry.old)
        else:
            doomed.append((entry.logical_id, entry.kind, entry.old, {"Type": entry.kind}))
    _delete_all(stack, doomed)


def restore(resources_map) -> None:
    """Before a failed update's rollback: the stack's resources are the old ones again, so the
    rollback finds them unchanged (no new revision of a task definition) and points what refers
    to them back at them. A resource whose own update failed half-way (a service whose new
    deployment failed) is taken as being in its attempted state, so the rollback updates it back.
    """
    _removed(resources_map).clear()  # still there: the rollback's template has them again
    parsed = resources_map._parsed_resources
    for entry in reversed(_replaced(resources_map)):
        parsed[entry.logical_id] = entry.old
    for logical_id, resource in list(parsed.items()):
        attempted = getattr(resource, "attempted", None)
        if attempted is None:
            continue
        resource.attempted = None
        half_way = type(resource)(resource.physical_resource_id, attempted, resource.attributes)
        half_way.logical_resource_id = logical_id
        half_way.cf_resource_type = getattr(resource, "cf_resource_type", resource.TYPE)
        parsed[logical_id] = half_way


def clean_up_after_rollback(stack) -> None:
    """The rollback put the old resources back in use: delete what the failed update made in
    their place (and the update's version of any the rollback itself had to replace)."""
    stack.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    discard_made(stack)


def discard_made(stack) -> None:
    """Delete what the failed update made: its replacements and the resources it added (the
    rollback's template has them no more). Also after a rollback that failed: nothing else
    tracks them, and a DeleteStack would leave them (a service's containers running)."""
    doomed = []
    for entry in reversed(_replaced(stack.resource_map)):
        made = entry.old if entry.in_rollback else entry.new
        doomed.append((entry.logical_id, entry.kind, made, {"Type": entry.kind}))
    _delete_all(stack, doomed)


def _delete_all(stack, doomed: list) -> None:
    """Delete the clean-up phase's resources: `doomed` ((logical id, type, resource, its
    template's JSON), the newest first), then those out of the template, the last made first,
    but those whose DeletionPolicy is Retain; they are no longer the stack's. All in one list:
    one that fails is tried again while the others go (what it depends on may be among them:
    a removed cluster whose replaced service goes later), as moto does; one still failing
    when it gives up is the resource's DELETE_FAILED, the stack's operation still succeeded,
    as on AWS."""
    resources_map = stack.resource_map
    parsed = resources_map._parsed_resources
    removed = list(reversed(_removed(resources_map))) + list(reversed(_owed(resources_map)))
    for entry in removed:
        if parsed.get(entry.logical_id) is entry.resource:
            del parsed[entry.logical_id]
    # An idempotent create (CreateCluster of the same name under a new logical id) adopted the
    # removed resource's physical one: it is the stack's still, under its new name.
    kept = {(resources_map._resource_json_map.get(name, {}).get("Type"),
             getattr(resource, "physical_resource_id", None))
            for name, resource in parsed.items() if not isinstance(resource, str)}
    todo = list(doomed)
    for entry in removed:
        kind = entry.resource_json.get("Type", "")
        if (kind, getattr(entry.resource, "physical_resource_id", None)) in kept:
            continue
        if entry.resource_json.get("DeletionPolicy") == "Retain":
            _skip(stack, entry.logical_id, kind, entry.resource)
        else:
            todo.append((entry.logical_id, kind, entry.resource, entry.resource_json))
    given_up = []
    for round_ in range(_DELETE_ROUNDS):
        left = []
        for item in todo:
            outcome = _delete(stack, *item, first=round_ == 0)
            if outcome is None:
                given_up.append(item)
            elif not outcome:
                left.append(item)
        todo = left
        if not todo:
            break
    for logical_id, kind, resource, _ in todo + given_up:
        _report_failure(stack, logical_id, kind, resource)
    _removed(resources_map).clear()
    _replaced(resources_map).clear()
    _owed(resources_map).clear()


_DELETE_ROUNDS = 4  # moto's MAX_UPDATE_ATTEMPTS (5) counts from 1


def _skip(stack, logical_id: str, kind: str, resource) -> None:
    from emulator.cloudformation.stack_life import add_event

    add_event(stack, logical_id, kind, "DELETE_SKIPPED",
              getattr(resource, "physical_resource_id", ""))


def _delete(stack, logical_id: str, kind: str, resource, resource_json: dict,
            first: bool = True) -> bool:
    """Delete one resource of the clean-up phase; False if it failed (this time), None if it
    failed for good: one that did not settle within the stabilize timeout (a service whose
    tasks do not drain) is not waited for again, which would hold the call past the SDKs'
    read timeout."""
    from emulator.cloudformation.stack_life import add_event

    physical_id = getattr(resource, "physical_resource_id", "") or ""
    if first:
        add_event(stack, logical_id, kind, "DELETE_IN_PROGRESS", physical_id)
    try:
        # stack_life's wrapper of moto's delete: the caller's rights, DELETE_COMPLETE.
        stack.resource_map._delete_resource(resource, resource_json)
    except Exception as error:  # noqa: BLE001 - the clean-up goes on, as CloudFormation's
        log.warning("clean-up of %s (%s) in stack %s failed: %s", logical_id, physical_id,
                    stack.name, error)
        return None if isinstance(error, ResourceFailed) else False
    return True


def _report_failure(stack, logical_id: str, kind: str, resource) -> None:
    """The DELETE_FAILED event of a resource the clean-up gave up on, with its last reason
    (stack_life's wrapper of moto's delete keeps it; a refused one has its event already)."""
    from emulator.cloudformation.stack_life import _last_event_is, add_event, delete_reasons

    physical_id = getattr(resource, "physical_resource_id", "") or ""
    last = delete_reasons(stack.resource_map).pop((logical_id, physical_id), None)
    if last is not None and not _last_event_is(stack, logical_id, physical_id, "DELETE_FAILED",
                                               last[1]):
        add_event(stack, logical_id, kind, "DELETE_FAILED", physical_id, last[1])

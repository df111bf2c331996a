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
wrapper hands it here, `run_update` drives the phases.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

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


def begin(resources_map) -> None:
    """A stack update starts: nothing replaced yet."""
    _replaced(resources_map).clear()
    _removed(resources_map).clear()
    resources_map._emulator_updating = True


def end(resources_map) -> None:
    resources_map._emulator_updating = False
    _replaced(resources_map).clear()
    _removed(resources_map).clear()


def wrap_resource_map_update(original):
    """ResourceMap.update, during a stack update (or its rollback): the resources taken out of
    the template are kept for the clean-up phase instead of deleted first; its success is the
    end of the update's work and the start of the clean-up phase (moto's Stack.update and
    ExecuteChangeSet then record UPDATE_COMPLETE)."""

    def update(self, template, parameters=None):
        if not getattr(self, "_emulator_updating", False):
            return original(self, template, parameters)
        diff_of = self.build_resource_diff

        def build_resource_diff(other_template, other_parameters=None):
            diff = diff_of(other_template, other_parameters)
            for name in diff["Remove"]:
                resource = self._parsed_resources.get(name)
                if resource is not None and not isinstance(resource, str):
                    _removed(self).append(Removed(name, resource, self._resource_json_map[name]))
            diff["Remove"] = []
            return diff

        # Only for this call (a change set's description builds the diff without running it);
        # update_scope's own one for this call is put back for it to take off.
        outer = self.__dict__.get("build_resource_diff")
        self.build_resource_diff = build_resource_diff
        try:
            original(self, template, parameters)
        finally:
            if outer is None:
                self.__dict__.pop("build_resource_diff", None)
            else:
                self.build_resource_diff = outer
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
    """The update succeeded: delete the replaced resources (the newest first: a service before
    the cluster it ran in), or keep those whose UpdateReplacePolicy is Retain."""
    stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    _delete_removed(stack)
    replaced = _replaced(stack.resource_map)
    for entry in reversed(replaced):
        if entry.policy == "Retain":
            _skip(stack, entry.logical_id, entry.kind, entry.old)
        else:
            _delete(stack, entry.logical_id, entry.kind, entry.old)
    replaced.clear()


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
    _delete_removed(stack)  # those the failed update added
    replaced = _replaced(stack.resource_map)
    for entry in reversed(replaced):
        made = entry.old if entry.in_rollback else entry.new
        _delete(stack, entry.logical_id, entry.kind, made)
    replaced.clear()


def _delete_removed(stack) -> None:
    """Delete the resources out of the template, the last made first (what refers to another
    before it), but those whose DeletionPolicy is Retain; they are no longer the stack's. One
    that fails is tried again while others go (what it depends on may be among them), as moto
    does."""
    resources_map = stack.resource_map
    todo = []
    for entry in reversed(_removed(resources_map)):
        if resources_map._parsed_resources.get(entry.logical_id) is entry.resource:
            del resources_map._parsed_resources[entry.logical_id]
        if entry.resource_json.get("DeletionPolicy") == "Retain":
            _skip(stack, entry.logical_id, entry.resource_json.get("Type", ""), entry.resource)
        else:
            todo.append(entry)
    for round_ in range(_DELETE_ROUNDS):
        todo = [entry for entry in todo if not _delete(
            stack, entry.logical_id, entry.resource_json.get("Type", ""), entry.resource,
            entry.resource_json, first=round_ == 0)]
        if not todo:
            break
    _removed(resources_map).clear()


_DELETE_ROUNDS = 4  # moto's MAX_UPDATE_ATTEMPTS (5) counts from 1


def _skip(stack, logical_id: str, kind: str, resource) -> None:
    from emulator.cloudformation.stack_life import add_event

    add_event(stack, logical_id, kind, "DELETE_SKIPPED",
              getattr(resource, "physical_resource_id", ""))


def _delete(stack, logical_id: str, kind: str, resource, resource_json=None,
            first: bool = True) -> bool:
    """Delete one resource of the clean-up phase. A failure is the resource's DELETE_FAILED
    event (stack_life's wrapper of moto's delete records it); the stack's operation still
    succeeded, as on AWS."""
    from emulator.cloudformation.stack_life import add_event

    physical_id = getattr(resource, "physical_resource_id", "")
    if first:
        add_event(stack, logical_id, kind, "DELETE_IN_PROGRESS", physical_id)
    try:
        # stack_life's wrapper of moto's delete: the caller's rights, DELETE_COMPLETE.
        stack.resource_map._delete_resource(resource, resource_json or {"Type": kind})
    except Exception as error:  # noqa: BLE001 - the clean-up goes on, as CloudFormation's
        log.warning("clean-up of %s (%s) in stack %s failed: %s", logical_id, physical_id,
                    stack.name, error)
        return False
    return True

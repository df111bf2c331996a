"""Which resources a stack update touches, and in what order.

moto updates only the resources whose template text changed, in template order, and creates the
added ones (in template order, DependsOn ignored) before it updates any, after it removed what
the template no longer has. CloudFormation also
updates a resource whose Ref, Fn::GetAtt or Fn::Sub ("${Role.Arn}") target was replaced (a service after its task
definition got a new revision), after that target; it creates an added resource after what it
refers to or depends on, and updates a resource before the added ones that refer to it (a
cluster's new capacity provider before the new service that uses it), and removes what the
template no longer has last, once the rest succeeded (replacements.py)."""

from __future__ import annotations

import re
from contextlib import contextmanager

from emulator.cloudformation.update_rights import check_update


def wrap_build_resource_diff(original, our_types: frozenset[str]):
    """moto updates only resources whose template text changed. CloudFormation also updates a
    resource whose Ref or Fn::GetAtt target changed (a service after its task definition got a
    new revision): ours are added (they compare resolved properties, so an unchanged one is left
    alone), and every update runs after the updates of what it refers to."""

    def build_resource_diff(self, other_template, parameters=None):
        diff = original(self, other_template, parameters)
        new, old = other_template.get("Resources") or {}, self._resource_json_map
        refs = {name: references(body) & set(new) for name, body in new.items()}
        # moto gives a resource without Properties an empty one as it makes it, in the stack's
        # template: unchanged, it differs from the new template's by that alone (one the same
        # as before is there for a parameter it uses, which changed).
        modify = [name for name in diff["Modify"] if new.get(name) == old.get(name)
                  or _as_written(new.get(name)) != _as_written(old.get(name))]
        changed = _parameters_changed.get(id(self), frozenset())
        modify += [name for name, body in new.items() if name in old and name not in modify
                   and references(body) & changed]
        grew = True
        while grew:
            grew = False
            for name, body in new.items():
                if (name in old and name not in modify and body.get("Type") in our_types
                        and refs[name] & set(modify)):
                    modify.append(name)
                    grew = True
        diff["Modify"] = _in_dependency_order(modify, refs)
        diff["Add"] = _in_dependency_order(list(diff["Add"]), refs)
        for adjust in list(_adjusting.get(id(self), ())):
            diff = adjust(diff, other_template)
        return diff

    return build_resource_diff


def wrap_update(original, parse_and_update, our_types: frozenset[str] = frozenset()):
    """ResourceMap.update, which updates first the modified resources that added ones refer to
    (moto creates every added resource before it updates any; what the template no longer has
    goes in the clean-up phase: replacements.py). Under
    IAM enforcement, everything the update will do is checked before it starts
    (update_rights.py). `parse_and_update` gives the (wrapped)
    parsing.parse_and_update_resource when called."""

    def update(self, template, parameters=None):
        if not getattr(self, "rolling_back", False):  # a rollback undoes what it can
            check_update(self, template, parameters, self.build_resource_diff, our_types)

        def modified_first(diff, other_template):
            new = other_template.get("Resources") or {}
            refs = {name: references(body) & set(new) for name, body in new.items()}
            early = _needed_by(diff["Add"], diff["Modify"], refs)
            if early:
                diff["Add"] = _ModifiedFirst(diff["Add"], early, diff["Modify"], self,
                                             parse_and_update)
            return diff

        with adjusted_diff(self, modified_first):
            return original(self, template, parameters)

    return update


# id(resource map) -> the adjustments of the diff (adjusted_diff) while an update runs on it.
# Kept here, not on the map: the map is moto's state, pickled as it is (emulator/persistence)
# while an update waits on a service, and a function made inside a call cannot be pickled.
_adjusting: dict[int, list] = {}
# id(resource map) -> the parameters a rollback running on it changes (parameters_changed). Here
# too: on the map, a snapshot taken during the rollback would bring it back after a kill, and
# every later update of the stack would update whatever refers to those parameters.
_parameters_changed: dict[int, frozenset[str]] = {}


@contextmanager
def adjusted_diff(resource_map, adjust):
    """For one ResourceMap.update call, the map's build_resource_diff gives `adjust(diff,
    template)` of the diff it gave (nested ones each adjust the one the outer gave). Only for
    that call: a change set's description builds the diff without running it."""
    adjustments = _adjusting.setdefault(id(resource_map), [])
    adjustments.append(adjust)
    try:
        yield
    finally:
        adjustments.remove(adjust)
        if not adjustments:
            _adjusting.pop(id(resource_map), None)


@contextmanager
def parameters_changed(resource_map, names: frozenset[str]):
    """For one ResourceMap.update call (a rollback's), the parameters whose values it changes,
    which moto cannot tell from the input it is given: a resource that refers to one is
    updated, and so are ours that refer to that one."""
    _parameters_changed[id(resource_map)] = names
    try:
        yield
    finally:
        _parameters_changed.pop(id(resource_map), None)


class _ModifiedFirst(list):
    """The added resources, which, when moto walks them (its template and parameters loaded by
    then), first update the modified resources they refer to."""

    def __init__(self, added, early, modify, resource_map, parse_and_update):
        super().__init__(added)
        self._early, self._modify = early, modify
        self._map, self._parse_and_update = resource_map, parse_and_update

    def __iter__(self):
        resources = self._map
        for name in self._early:
            resources._parsed_resources[name] = self._parse_and_update()(
                name, resources._resource_json_map[name], resources,
                account_id=resources._account_id, region_name=resources._region_name)
            self._modify.remove(name)
        self._early = []
        return super().__iter__()


def _needed_by(added, modify, refs: dict[str, set[str]]) -> list[str]:
    """The modified resources the added ones refer to (directly or through other modified
    ones), in dependency order."""
    needed: set[str] = set()
    todo = [name for name in added]
    while todo:
        for dependency in refs.get(todo.pop(), set()) & set(modify):
            if dependency not in needed:
                needed.add(dependency)
                todo.append(dependency)
    return _in_dependency_order([name for name in modify if name in needed], refs)


def _as_written(resource):
    """A template resource without the empty Properties moto may have added to it."""
    if isinstance(resource, dict) and resource.get("Properties") == {}:
        return {key: value for key, value in resource.items() if key != "Properties"}
    return resource


def references(resource) -> set[str]:
    """The logical ids (or parameters, pseudo parameters) a template resource refers to: by Ref,
    Fn::GetAtt and Fn::Sub's ${X} and ${X.Attribute} anywhere in it, and by its own DependsOn (a string or a list of strings). A
    DependsOn deeper down is a property: an ECS container definition's names containers, in
    {ContainerName, Condition} objects."""
    found = _intrinsic_references(resource)
    depends = resource.get("DependsOn") if isinstance(resource, dict) else None
    if isinstance(depends, str):
        found.add(depends)
    elif isinstance(depends, list):
        found.update(name for name in depends if isinstance(name, str))
    return found


def _intrinsic_references(value) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            found.add(str(get_att[0]))
        elif isinstance(get_att, str):
            found.add(get_att.split(".")[0])
        found |= _sub_references(value.get("Fn::Sub"))
        for item in value.values():
            found |= _intrinsic_references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _intrinsic_references(item)
    return found


# ${Name} or ${Name.Attribute} in an Fn::Sub string; ${!Name} is the literal text ${Name}.
_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_references(sub) -> set[str]:
    """What an Fn::Sub string names: a Ref (${Cluster}) or an Fn::GetAtt (${Role.Arn}), as
    CloudFormation orders by them; not the names its own variable map gives values to."""
    text, own = (sub[0], sub[1] if len(sub) > 1 else {}) if isinstance(sub, list) and sub \
        else (sub, {})
    if not isinstance(text, str):
        return set()
    own = own if isinstance(own, dict) else {}
    names = {variable.strip().split(".")[0] for variable in _SUB_VARIABLE.findall(text)}
    return {name for name in names if name and name not in own}


def _in_dependency_order(names: list[str], refs: dict[str, set[str]]) -> list[str]:
    ordered: list[str] = []

    def visit(name: str, path: frozenset) -> None:
        if name in ordered or name in path:
            return
        for dependency in sorted(refs.get(name, set()) & set(names)):
            visit(dependency, path | {name})
        ordered.append(name)

    for name in names:
        visit(name, frozenset())
    return ordered

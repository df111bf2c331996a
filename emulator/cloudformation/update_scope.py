"""Which resources a stack update touches, and in what order.

moto updates only the resources whose template text changed, in template order. CloudFormation
also updates a resource whose Ref or Fn::GetAtt target was replaced (a service after its task
definition got a new revision), after that target."""

from __future__ import annotations


def wrap_build_resource_diff(original, our_types: frozenset[str]):
    """moto updates only resources whose template text changed. CloudFormation also updates a
    resource whose Ref or Fn::GetAtt target changed (a service after its task definition got a
    new revision): ours are added (they compare resolved properties, so an unchanged one is left
    alone), and every update runs after the updates of what it refers to."""

    def build_resource_diff(self, other_template, parameters=None):
        diff = original(self, other_template, parameters)
        new, old = other_template.get("Resources") or {}, self._resource_json_map
        refs = {name: _references(body) & set(new) for name, body in new.items()}
        modify = list(diff["Modify"])
        grew = True
        while grew:
            grew = False
            for name, body in new.items():
                if (name in old and name not in modify and body.get("Type") in our_types
                        and refs[name] & set(modify)):
                    modify.append(name)
                    grew = True
        diff["Modify"] = _in_dependency_order(modify, refs)
        return diff

    return build_resource_diff


def _references(value) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            found.add(value["Ref"])
        get_att = value.get("Fn::GetAtt")
        if isinstance(get_att, list) and get_att:
            found.add(str(get_att[0]))
        elif isinstance(get_att, str):
            found.add(get_att.split(".")[0])
        depends = value.get("DependsOn")
        found.update([depends] if isinstance(depends, str) else depends or [])
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


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

"""A template whose resources depend on each other in a circle is refused, as CloudFormation
refuses it (CreateStack, UpdateStack, CreateChangeSet, ValidateTemplate): ValidationError
"Circular dependency between resources: [A, B]". Such a stack could be neither made in order
nor deleted in order (each waits for the other).

The dependencies are those CloudFormation orders by: DependsOn, Ref and Fn::GetAtt. The
resources named are those no order can place, as AWS names them: the ones on a circle and the
ones that wait on one.
"""

from __future__ import annotations

from emulator.cloudformation.errors import validation_error
from emulator.cloudformation.update_scope import references


def unordered(template: dict) -> list[str]:
    """The resources no creation order can place, in template order (none: the template has
    no circle)."""
    resources = template.get("Resources") if isinstance(template, dict) else None
    if not isinstance(resources, dict) or template.get("Transform"):
        return []  # a transform's output is what will be checked
    waits_on = {name: {target for target in references(body) if target in resources}
                for name, body in resources.items() if isinstance(body, dict)}
    placed: set[str] = set()
    progress = True
    while progress:
        ready = {name for name, needs in waits_on.items()
                 if name not in placed and needs <= placed}
        placed |= ready
        progress = bool(ready)
    return [name for name in waits_on if name not in placed]


def refuse(template: dict) -> None:
    left = unordered(template)
    if left:
        raise validation_error(f"Circular dependency between resources: [{', '.join(left)}]")

"""A template's `Outputs` whose `Fn::GetAtt` moto's check cannot read, refused in words.

moto checks each output's `Fn::GetAtt` before it makes anything (ResourceMap.validate_outputs)
and crashes on two: one naming a resource the template does not declare (CreateStack answered
"Invalid request: TypeError: argument of type 'NoneType' is not iterable"), and one naming a
resource of a type moto does not model (an AttributeError: a 500 the SDKs retried). The first is
CloudFormation's "Unresolved resource dependencies [X] in the Outputs block of the template"; the
second has no value here, as its resource is made without effect, so the stack is refused
before anything is made rather than created with an output it cannot give.

An output whose `Condition` the template does not declare crashed moto too (a KeyError: a 500
the SDKs retried): CloudFormation's "Unresolved condition dependencies [X] in the Outputs block".
"""

from __future__ import annotations

from emulator.cloudformation.errors import validation_error


def wrap_validate_outputs(original):
    def validate_outputs(self) -> None:
        from moto.cloudformation.parsing import resource_class_from_type

        outputs = self._template.get("Outputs") or {}
        _check_conditions(outputs, self._template.get("Conditions") or {})
        for output in outputs.values():
            if not isinstance(output, dict) or (
                    "Condition" in output and not self.lazy_condition_map[output["Condition"]]):
                continue  # not shown, so not checked (as moto's own check does)
            value = output.get("Value")
            target = value.get("Fn::GetAtt") if isinstance(value, dict) else None
            if isinstance(target, str):
                target = target.split(".", 1)
            if not isinstance(target, list) or not target or not isinstance(target[0], str):
                continue
            resource = self._resource_json_map.get(target[0])
            if not isinstance(resource, dict):
                raise validation_error(
                    f"Template format error: Unresolved resource dependencies [{target[0]}] "
                    "in the Outputs block of the template")
            kind = resource.get("Type", "")
            if resource_class_from_type(kind) is None:
                raise validation_error(
                    f"Template error: resource {target[0]} is of type {kind}, which this "
                    "emulator's CloudFormation does not model (it is made without effect), "
                    "so an output cannot give its attributes")
        original(self)

    return validate_outputs


def _check_conditions(outputs: dict, conditions: dict) -> None:
    undeclared = sorted({output["Condition"] for output in outputs.values()
                         if isinstance(output, dict) and "Condition" in output
                         and not (isinstance(output["Condition"], str)
                                  and output["Condition"] in conditions)}, key=str)
    if undeclared:
        raise validation_error(
            "Template format error: Unresolved condition dependencies "
            f"[{', '.join(map(str, undeclared))}] in the Outputs block of the template")

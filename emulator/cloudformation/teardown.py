"""A stack's resources and outputs while it is deleted or rolled back, and after.

moto's ResourceMap makes a resource on first read (`resource_map[logical_id]`: that is how its
create follows references), and its delete takes each resource out of that map as it goes. So
anything that resolved a reference meanwhile made the deleted resource again, outside any
operation and for good: DescribeStacks (the CDK's `destroy` polls it) resolves the stack's
outputs and exports, a Ref output to an SSM parameter, a task definition, a service or a cluster
brought it back. Here a stack's map stops making resources once its delete (or a failed
create's rollback) begins, and the outputs the stack had then are shown, frozen, until it is gone,
as on AWS. Its resources are listed without making any (stack_resources), and a stack rolled
back or deleted has no outputs at all (drop_outputs).
"""

from __future__ import annotations

from collections.abc import Mapping


def stop_making(resource_map) -> None:
    """From now on reading a resource this map no longer has gives None instead of making it:
    a stack being deleted, DELETE_FAILED or rolled back is deleted again, as a rule."""
    resource_map.__dict__["_emulator_torn_down"] = True


def resume_making(resource_map) -> None:
    """An update makes resources again (moto takes one of a DELETE_FAILED stack, which AWS
    refuses: here it works as it did)."""
    resource_map.__dict__.pop("_emulator_torn_down", None)


def wrap_getitem(original):
    """ResourceMap.__getitem__ that makes nothing once the map's stack is torn down."""
    def __getitem__(self, key):
        if (self.__dict__.get("_emulator_torn_down") and key not in self._parsed_resources
                and key in self._resource_json_map):
            return None
        return original(self, key)

    return __getitem__


class FrozenOutputs(Mapping):
    """Stack.output_map's place while the stack is deleted: the outputs and exports it had,
    read once, before any resource went (moto's own map resolves them on every read)."""

    def __init__(self, outputs: dict, exports: list):
        self._outputs = outputs
        self.exports = exports

    def __getitem__(self, key):
        return self._outputs[key]

    def __iter__(self):
        return iter(self._outputs)

    def __len__(self) -> int:
        return len(self._outputs)


def freeze(stack) -> None:
    """Stop the stack's map making resources, then read its outputs once and serve that copy
    from now on (first the stop: an output of a resource never made must not make it). An
    output that cannot be resolved is left out, as moto leaves out one it resolves to
    nothing."""
    stop_making(stack.resource_map)
    if not isinstance(stack.output_map, FrozenOutputs):
        outputs, exports = {}, []
        try:
            outputs = {key: output for key in stack.output_map
                       if (output := _resolved(stack.output_map, key)) is not None}
            exports = list(stack.output_map.exports)
        except Exception:  # a GetAtt of what is not there: no exports to show
            exports = []
        stack.output_map = FrozenOutputs(outputs, exports)


def _resolved(output_map, key):
    try:
        return output_map[key]
    except Exception:
        return None


def drop_outputs(stack) -> None:
    """A stack rolled back or deleted has no outputs; moto would make its resources again, lazily,
    to resolve them."""
    from moto.cloudformation.parsing import OutputMap

    stack.output_map = OutputMap(stack.resource_map, {}, stack.stack_id)


def stack_resources(self):
    """Stack.stack_resources without moto's side effect: its resource map creates a resource on
    first read, so describing a deleted or rolled-back stack made its resources again."""
    parsed = self.resource_map._parsed_resources
    return [parsed[name] for name in self.resource_map._resource_json_map
            if name in parsed and not isinstance(parsed[name], str) and parsed[name] is not None]

"""Values AWS accepts and documents that botocore's model leaves out of an enum.

The models are the specification, but an enum in them can lag the service: ECS's SettingName
has no `dualStackIPv6`, while the `name` member's own documentation in the same model (and the
developer guide's account-settings pages) lists it, and ECS accepts it. botocore does not check
enums, so a client sends such a value; without this the emulator would refuse what AWS does.
Each entry names its source; nothing else of a model is changed.
"""

from __future__ import annotations

# service -> shape -> values added to that shape's enum.
ENUM_VALUES: dict[str, dict[str, tuple[str, ...]]] = {
    # PutAccountSetting(Default)'s `name` documentation lists dualStackIPv6 (awsvpc tasks in a
    # dual-stack VPC get an IPv6 address); the SettingName enum does not.
    "ecs": {"SettingName": ("dualStackIPv6",)},
}


def amended(service: str, model: dict) -> dict:
    """`model` with the service's added enum values (shapes the model lacks are left alone)."""
    for shape_name, values in ENUM_VALUES.get(service, {}).items():
        shape = model["shapes"].get(shape_name)
        if shape is None or "enum" not in shape:
            continue
        shape["enum"] = list(shape["enum"]) + [v for v in values if v not in shape["enum"]]
    return model

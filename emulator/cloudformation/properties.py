"""A CloudFormation resource's Properties turned into an API request, guided by botocore's model.

CloudFormation names properties in PascalCase after the API's members (ClusterName, clusterName),
with a few renamings (ClusterSettings is CreateCluster's `settings`). Walking the operation's input
shape decides each key's API name, keeps the keys of maps (docker labels, log options) as the
user wrote them, and coerces the strings CloudFormation parameters produce ("2", "true") into the
member's type. Properties the operation does not take are dropped; the caller sends them to
the operation that does (tags, policies).
"""

from __future__ import annotations

import json

# CloudFormation property -> API member, where the two are not the same word.
_RENAMED = {
    "ClusterSettings": "settings",
    "PlacementStrategies": "placementStrategy",
    "ProxyConfigurationProperties": "properties",
    # AWS::ECR::Repository and RepositoryCreationTemplate's ImageTagMutabilityExclusionFilter
    "ImageTagMutabilityExclusionFilterType": "filterType",
    "ImageTagMutabilityExclusionFilterValue": "filter",
}


def to_request(shapes, operation: str, properties: dict, **extra) -> dict:
    """Properties -> the parameters of `operation` (plus `extra`, already in API form)."""
    shape_name = shapes.operations[operation].input_shape
    request = _convert(shapes.shapes, shape_name, properties)
    request.update({k: v for k, v in extra.items() if v is not None})
    return request


def _convert(shapes: dict, shape_name: str, value):
    shape = shapes[shape_name]
    kind = shape["type"]
    if kind == "structure":
        return _structure(shapes, shape, value)
    if kind == "list":
        items = value if isinstance(value, list) else [value]
        return [_convert(shapes, shape["member"]["shape"], item) for item in items]
    if kind == "map":
        if not isinstance(value, dict):
            return value
        return {str(k): _convert(shapes, shape["value"]["shape"], v) for k, v in value.items()}
    return _scalar(kind, value)


def _structure(shapes: dict, shape: dict, value) -> dict | object:
    if not isinstance(value, dict):
        return value  # the API's validation names the mistake
    members = shape.get("members", {})
    by_lower = {name.lower(): name for name in members}
    out = {}
    for key, item in value.items():
        member = _RENAMED.get(key) if _RENAMED.get(key) in members else by_lower.get(key.lower())
        if member is None or item is None:
            continue
        out[member] = _convert(shapes, members[member]["shape"], item)
    return out


def _scalar(kind: str, value):
    if kind in ("integer", "long") and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return value
    if kind in ("double", "float") and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and isinstance(value, str):
        return value.strip().lower() == "true" if value.strip().lower() in (
            "true", "false") else value
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, (dict, list)):
            return json.dumps(value)  # policy documents written as JSON objects in the template
    return value


def tags_of(properties: dict, key: str = "Tags") -> list[dict]:
    """The template's tags as [{"Key": .., "Value": ..}] (both ECS and ECR spell them so there)."""
    return [{"Key": t["Key"], "Value": str(t.get("Value", ""))}
            for t in properties.get(key) or [] if isinstance(t, dict) and "Key" in t]

"""Requests as named values (api_shapes/requests.py): one class per operation of botocore's
models, and handlers that read only members their operation's input has."""

import ast
import inspect
import textwrap

import pytest

from api_shapes import load_service
from api_shapes.requests import given, snake_case
from emulator.ecr import api as ecr_api
from emulator.ecs import api as ecs_api


@pytest.mark.parametrize("member, field", [
    ("registryId", "registry_id"), ("enableECSManagedTags", "enable_ecs_managed_tags"),
    ("layerPartBlob", "layer_part_blob"), ("filter", "filter"), ("imageIds", "image_ids"),
])
def test_members_are_named_in_snake_case(member, field):
    assert snake_case(member) == field


@pytest.mark.parametrize("service", ["ecs", "ecr"])
def test_every_operation_has_a_request_class(service):
    shapes = load_service(service)
    for operation in shapes.operations:
        kind = shapes.request_type(operation)
        input_shape = shapes.operations[operation].input_shape
        members = shapes.shapes[input_shape]["members"] if input_shape else {}
        assert set(kind.wire_names) == set(members)  # one field per member, no two alike


def test_a_request_holds_what_was_given_and_none_for_the_rest():
    shapes = load_service("ecr")
    params = shapes.parse_input("CreateRepository", {
        "repositoryName": "web", "imageScanningConfiguration": {"scanOnPush": True}})
    request = shapes.request("CreateRepository", params)
    assert request.repository_name == "web"
    assert request.image_scanning_configuration == {"scanOnPush": True}
    assert request.tags is None and request.registry_id is None
    with pytest.raises(AttributeError):
        request.repositoryName


def test_given_names_only_the_members_the_request_gives():
    shapes = load_service("ecs")
    request = shapes.request("UpdateService", shapes.parse_input("UpdateService", {
        "service": "web", "desiredCount": 0, "forceNewDeployment": False}))
    assert given(request) == {"service": "web", "desiredCount": 0, "forceNewDeployment": False}


@pytest.mark.parametrize("service, api", [("ecs", ecs_api), ("ecr", ecr_api)])
def test_handlers_read_only_members_of_their_operation(service, api):
    """A handler's `call.request.x` (or `request.x` after `request = call.request`) names a
    member of its operation's input: a typo would otherwise be a 500 on a path tests miss."""
    shapes = load_service(service)
    checked = 0
    for operation, fn in api.handlers().handlers.items():
        fields = set(shapes.request_type(operation).wire_names.values())
        for name in _request_attributes(fn):
            assert name in fields, f"{operation}: {fn.__name__} reads request.{name}"
            checked += 1
    assert checked or service == "ecs"


@pytest.mark.parametrize("api", [ecs_api, ecr_api])
def test_handlers_hand_on_named_values_not_the_wire_dict(api):
    """No handler module reads `call.params`: the domain gets the request's named values, so
    camelCase request dicts stop at the edge."""
    modules = {inspect.getmodule(fn) for fn in api.handlers().handlers.values()}
    assert len(modules) > 5
    for module in modules:
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            assert not (isinstance(node, ast.Attribute) and node.attr == "params"
                        and isinstance(node.value, ast.Name) and node.value.id == "call"), \
                f"{module.__name__}:{node.lineno} reads call.params"


def _request_attributes(fn) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        target = node.value
        if isinstance(target, ast.Attribute) and target.attr == "request" and \
                isinstance(target.value, ast.Name) and target.value.id == "call":
            found.add(node.attr)
        elif isinstance(target, ast.Name) and target.id == "request":
            found.add(node.attr)
    return found

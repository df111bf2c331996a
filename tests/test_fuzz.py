"""Fuzzing the protocol layer over HTTP: for every operation of ECS's and ECR's botocore models,
request bodies drawn from its input shape (valid ones, and ones broken in one named way), invalid
JSON and unknown operations. Whatever comes in, the answer is never a 5xx: it is a well-formed AWS error
or a success that fits the output shape.

Deterministic by default (the "ci" profile: derandomized, a few examples per operation). For a
longer, random run: ECS_EMULATOR_FUZZ_PROFILE=thorough pytest tests/test_fuzz.py
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api_shapes import ServiceShapes, load_service
from api_shapes.conformance import problem_with
from emulator.ecr import api as ecr_api
from emulator.ecs import api as ecs_api
from shape_strategies import broken_body, valid_body



@dataclass(frozen=True)
class Service:
    shapes: ServiceShapes
    implemented: frozenset
    unbuilt_code: str  # what an operation without a handler answers (see emulator/app.py)


SERVICES = {
    "ecs": Service(load_service("ecs"), frozenset(ecs_api.handlers().handlers),
                   "UnsupportedFeatureException"),
    "ecr": Service(load_service("ecr"), frozenset(ecr_api.handlers().handlers), "UnsupportedOperation"),
}
OPERATIONS = [(name, op) for name, service in SERVICES.items()
              for op in sorted(service.shapes.operations)]
IMPLEMENTED = [(name, op) for name, op in OPERATIONS if op in SERVICES[name].implemented]
by_operation = pytest.mark.parametrize("service_name, operation", OPERATIONS,
                                       ids=[f"{name}.{op}" for name, op in OPERATIONS])

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
          HealthCheck.function_scoped_fixture]  # the fixture resets state once per operation
settings.register_profile("ci", max_examples=8, derandomize=True, database=None, deadline=None,
                          suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("thorough", max_examples=300, deadline=None,
                          suppress_health_check=_QUIET, print_blob=True)
FUZZ = settings.get_profile(os.environ.get("ECS_EMULATOR_FUZZ_PROFILE", "ci"))

_session = requests.Session()


# Resources that exist when each operation's examples begin, and the words that name them: valid
# bodies use these words now and then, so that some requests get past "not found".
ACCOUNT = "123456789012"
IMAGE = "fuzz.invalid/none:latest"  # a task that runs fails its pull at once (.invalid: RFC 2606)
WORDS = ("default", "fuzz", "fuzz:1", "FARGATE", "latest", ACCOUNT, IMAGE,
         f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/fuzz",
         f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/fuzz:1",
         f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/fuzz/fuzz")
SETUP = [
    ("ecs", "CreateCluster", {"clusterName": "default"}),
    ("ecs", "CreateCluster", {"clusterName": "fuzz"}),
    ("ecs", "RegisterTaskDefinition", {
        "family": "fuzz", "networkMode": "bridge", "requiresCompatibilities": ["EC2"],
        "containerDefinitions": [{"name": "fuzz", "image": IMAGE, "memory": 64}]}),
    ("ecs", "CreateService", {"cluster": "fuzz", "serviceName": "fuzz", "taskDefinition": "fuzz",
                              "desiredCount": 0, "launchType": "EC2"}),
    ("ecr", "CreateRepository", {"repositoryName": "fuzz"}),
]


@pytest.fixture
def endpoint(ecs_emulator) -> str:
    """The emulator's URL, on fresh state (SETUP only) before each operation's examples."""
    ecs_emulator.reset()
    for service_name, operation, params in SETUP:
        response = send(ecs_emulator.endpoint_url, SERVICES[service_name].shapes, operation,
                        json.dumps(params).encode())
        assert response.status_code == 200, response.text
    return ecs_emulator.endpoint_url


def send(endpoint: str, shapes: ServiceShapes, operation: str, body: bytes) -> requests.Response:
    return _session.post(endpoint, data=body, timeout=60, headers={
        "X-Amz-Target": f"{shapes.target_prefix}.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    })


def assert_well_formed(shapes: ServiceShapes, operation: str, response: requests.Response,
                       what: str) -> None:
    problem = problem_with(shapes, operation, response.status_code, dict(response.headers),
                           response.content)
    assert problem is None, f"{operation} <- {what}: {problem}"
    assert response.headers.get("x-amzn-RequestId"), f"{operation} <- {what}: no request id"


def error_code(response: requests.Response) -> str | None:
    return response.json()["__type"] if response.status_code != 200 else None


@by_operation
@FUZZ
@given(data=st.data())
def test_valid_requests_get_a_well_formed_answer(endpoint, service_name, operation, data):
    service = SERVICES[service_name]
    shape = service.shapes.operations[operation].input_shape
    body = data.draw(valid_body(service.shapes, shape, WORDS), label="body")
    response = send(endpoint, service.shapes, operation, json.dumps(body).encode())
    assert_well_formed(service.shapes, operation, response, "a valid body")
    if operation not in service.implemented:
        assert error_code(response) == service.unbuilt_code


@by_operation
@FUZZ
@given(data=st.data())
def test_broken_requests_are_refused_as_aws_would(endpoint, service_name, operation, data):
    service = SERVICES[service_name]
    shape = service.shapes.operations[operation].input_shape
    broken = data.draw(broken_body(service.shapes, shape, WORDS), label="broken")
    response = send(endpoint, service.shapes, operation, broken.to_json())
    what = f"{broken.kind} at {broken.where or 'the root'}"
    assert_well_formed(service.shapes, operation, response, what)
    if operation not in service.implemented:
        assert error_code(response) == service.unbuilt_code, what
    elif broken.must_refuse_with:
        assert error_code(response) == broken.must_refuse_with, f"{what}: {response.text[:300]}"


def _not_json(data: bytes) -> bool:
    if not data.strip():
        return False  # an empty body (or only whitespace) means no parameters
    try:
        json.loads(data)
    except (ValueError, RecursionError):
        return True
    return False


@FUZZ
@given(target=st.sampled_from(IMPLEMENTED),
       body=st.binary(min_size=1, max_size=200).filter(_not_json))
def test_invalid_json_is_a_serialization_exception(ecs_emulator, target, body):
    service_name, operation = target
    shapes = SERVICES[service_name].shapes
    response = send(ecs_emulator.endpoint_url, shapes, operation, body)
    assert_well_formed(shapes, operation, response, f"the body {body!r}")
    assert error_code(response) == "SerializationException"


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)


ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                        | st.text(max_size=8), _containers, max_leaves=12)


@FUZZ
@given(target=st.sampled_from(OPERATIONS), body=ANY_JSON)
def test_any_json_gets_a_well_formed_answer(ecs_emulator, target, body):
    service_name, operation = target
    shapes = SERVICES[service_name].shapes
    response = send(ecs_emulator.endpoint_url, shapes, operation, json.dumps(body).encode())
    assert_well_formed(shapes, operation, response, f"the body {body!r}")


@FUZZ
@given(service_name=st.sampled_from(sorted(SERVICES)),
       name=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40))
def test_unknown_operations_are_refused(ecs_emulator, service_name, name):
    shapes = SERVICES[service_name].shapes
    assume(name not in shapes.operations)
    response = send(ecs_emulator.endpoint_url, shapes, name, b"{}")
    # Any operation of the model will do to check the form of an error.
    problem = problem_with(shapes, next(iter(shapes.operations)), response.status_code,
                           dict(response.headers), response.content)
    assert problem is None, f"{name!r}: {problem}"
    assert error_code(response) == "UnknownOperationException"

"""api_shapes without a server: validation of requests, serialization of results, and the
conformance check that the tests' clients and the fuzz test rely on."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest

from api_shapes import ShapeError, load_service
from api_shapes.conformance import problem_with
from api_shapes.service import ServiceShapes
from api_shapes.validate import Validator

ECS = load_service("ecs")
ECR = load_service("ecr")
UTC = dt.timezone.utc


def test_models_are_loaded_once_and_name_their_protocol():
    assert load_service("ecs") is ECS
    assert ECS.target_prefix == "AmazonEC2ContainerServiceV20141113"
    assert ECR.target_prefix == "AmazonEC2ContainerRegistry_V20150921"
    assert "CreateCluster" in ECS.operations
    assert ECS.operations["CreateCluster"].input_shape == "CreateClusterRequest"
    assert "ClusterNotFoundException" in ECS.operations["DeleteCluster"].errors


# -- requests -------------------------------------------------------------------------------


def kind_of(operation: str, params) -> str:
    with pytest.raises(ShapeError) as excinfo:
        ECS.parse_input(operation, params)
    return excinfo.value.kind


@pytest.mark.parametrize("params", [
    [], "x", None, {"maxResults": "1"}, {"maxResults": True}, {"maxResults": 1.0},
    {"nextToken": 5}, {"nextToken": {}},
])
def test_a_wrong_json_type_is_a_type_error(params):
    assert kind_of("ListClusters", params) == "type"


def test_errors_name_the_path_to_the_value():
    with pytest.raises(ShapeError) as excinfo:
        ECS.parse_input("CreateCluster", {"tags": [{"key": "a"}, {"key": 3}]})
    assert excinfo.value.path == "tags[1].key"
    assert "tags[1].key" in str(excinfo.value)


@pytest.mark.parametrize("operation, params", [
    ("DeleteCluster", {}),
    ("DeleteCluster", {"cluster": None}),  # null is as good as absent
    ("TagResource", {"resourceArn": "a", "extra": 1}),
])
def test_a_missing_required_member(operation, params):
    assert kind_of(operation, params) == "missing"


@pytest.mark.parametrize("params", [
    {"tags": [{"key": ""}]},  # TagKey: at least 1 character
    {"tags": [{"key": "k" * 129}]},  # at most 128
    {"tags": [{"key": f"{i}"} for i in range(51)]},  # at most 50 tags
    {"settings": [{"name": "other"}]},  # not an enum value
    {"defaultCapacityProviderStrategy": [{"capacityProvider": "F", "weight": -1}]},
    {"defaultCapacityProviderStrategy": [{"capacityProvider": "F", "base": 100001}]},
])
def test_constraints_of_the_model(params):
    assert kind_of("CreateCluster", params) == "constraint"


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1])
def test_integers_beyond_64_bits_are_refused(value):
    with pytest.raises(ShapeError) as excinfo:
        ECS.parse_input("ListClusters", {"maxResults": value})
    assert excinfo.value.kind == "constraint"


def test_doubles_accept_integers_and_refuse_what_is_not_finite():
    validator = Validator({"D": {"type": "double"}}, reject_unknown=False)
    assert validator.validate("D", 3) == 3.0
    for value in (float("nan"), float("inf")):
        with pytest.raises(ShapeError):
            validator.validate("D", value)


def test_an_integer_past_a_double_is_a_constraint_error():
    """float(10**400) raises OverflowError, in the fast check and the full one alike."""
    params = {"serviceName": "s",
              "deploymentConfiguration": {"canaryConfiguration": {"canaryPercent": 10**400}}}
    with pytest.raises(ShapeError) as excinfo:
        ECS.parse_input("CreateService", params)
    assert excinfo.value.kind == "constraint"
    assert excinfo.value.path == "deploymentConfiguration.canaryConfiguration.canaryPercent"


def test_a_lone_surrogate_is_matched_as_java_matches_it():
    """RE2 reads UTF-8, which cannot hold a lone surrogate: no named class takes it, and `.`
    does, as in Java's regex."""
    with pytest.raises(ShapeError) as excinfo:
        ECR.parse_input("DescribeRepositories", {"repositoryNames": ["a\ud800b"]})
    assert excinfo.value.kind == "constraint" and "pattern" in str(excinfo.value)
    shapes = {"S": {"type": "string", "pattern": "a.b"}}
    validator = Validator(shapes, reject_unknown=False, check_patterns=True)
    assert validator.validate("S", "a\ud800b") == "a\ud800b"
    with pytest.raises(ShapeError):
        validator.validate("S", "a\ud800\udbffb")  # two characters to Java, as here


def test_unknown_members_are_dropped_from_requests():
    assert ECS.parse_input("ListClusters", {"maxResults": 5, "future": [1]}) == {"maxResults": 5}


def test_an_operation_without_input_or_output_shape():
    shapes = ServiceShapes({"metadata": {"targetPrefix": "T"}, "operations": {"Ping": {}},
                            "shapes": {}})
    assert shapes.parse_input("Ping", {"anything": 1}) == {}
    assert shapes.serialize_output("Ping", {"ignored": 1}) == {}
    shapes.check_output("Ping", {})
    with pytest.raises(ShapeError):
        shapes.check_output("Ping", {"unexpected": 1})


@pytest.mark.parametrize("value", [
    1714979289.25, "2024-05-06T07:08:09.25Z", "2024-05-06T07:08:09.250+00:00",
    "2024-05-06T07:08:09.250",  # no zone: UTC
])
def test_request_timestamps_become_aware_datetimes(value):
    parsed = ECS.parse_input("ListServiceDeployments", {"service": "s", "createdAt": {"after": value}})
    assert parsed["createdAt"]["after"] == dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=UTC)


@pytest.mark.parametrize("value, kind", [
    ("yesterday", "type"), (True, "type"), ([], "type"), (1e300, "constraint"),
])
def test_bad_request_timestamps(value, kind):
    assert kind_of("ListServiceDeployments", {"service": "s", "createdAt": {"after": value}}) == kind


def test_blobs_are_base64_and_their_length_counts_bytes():
    shapes = {"B": {"type": "blob", "max": 3}}
    validator = Validator(shapes, reject_unknown=False)
    assert validator.validate("B", base64.b64encode(b"abc").decode()) == b"abc"
    with pytest.raises(ShapeError) as too_long:
        validator.validate("B", base64.b64encode(b"abcd").decode())
    assert too_long.value.kind == "constraint"
    with pytest.raises(ShapeError) as not_base64:
        validator.validate("B", "not base64!")
    assert not_base64.value.kind == "type"


def test_maps_check_keys_and_values():
    shapes = {
        "M": {"type": "map", "key": {"shape": "K"}, "value": {"shape": "V"}, "max": 2},
        "K": {"type": "string", "min": 1},
        "V": {"type": "integer"},
    }
    validator = Validator(shapes, reject_unknown=False)
    assert validator.validate("M", {"a": 1}) == {"a": 1}
    for value, kind in (({"": 1}, "constraint"), ({"a": "1"}, "type"),
                        ({"a": 1, "b": 2, "c": 3}, "constraint"), ([], "type")):
        with pytest.raises(ShapeError) as excinfo:
            validator.validate("M", value)
        assert excinfo.value.kind == kind


def test_a_union_takes_one_member():
    shapes = {"U": {"type": "structure", "union": True,
                    "members": {"a": {"shape": "S"}, "b": {"shape": "S"}}},
              "S": {"type": "string"}}
    validator = Validator(shapes, reject_unknown=False)
    assert validator.validate("U", {"a": "x"}) == {"a": "x"}
    with pytest.raises(ShapeError) as excinfo:
        validator.validate("U", {"a": "x", "b": "y"})
    assert excinfo.value.kind == "constraint"


# -- responses ------------------------------------------------------------------------------


def test_serialization_drops_none_and_writes_epoch_seconds():
    at = dt.datetime(2024, 5, 6, 7, 8, 9, 500000, tzinfo=UTC)
    result = {
        "containerInstances": [{"containerInstanceArn": "arn", "registeredAt": at,
                                "ec2InstanceId": None, "attributes": [{"name": "a", "value": None}]}],
        "failures": [],
    }
    wire = ECS.serialize_output("DescribeContainerInstances", result)
    assert wire == {"containerInstances": [{"containerInstanceArn": "arn",
                                            "registeredAt": at.timestamp(),
                                            "attributes": [{"name": "a"}]}],
                    "failures": []}
    json.dumps(wire)  # nothing left that JSON cannot carry
    ECS.check_output("DescribeContainerInstances", json.loads(json.dumps(wire)))


def test_serialization_writes_blobs_as_base64():
    shapes = ServiceShapes({
        "metadata": {"targetPrefix": "T"},
        "operations": {"Op": {"output": {"shape": "Out"}}},
        "shapes": {"Out": {"type": "structure", "members": {"data": {"shape": "B"},
                                                             "items": {"shape": "L"}}},
                   "B": {"type": "blob"}, "L": {"type": "list", "member": {"shape": "B"}}},
    })
    assert shapes.serialize_output("Op", {"data": b"\x00\x01", "items": [b"hi"]}) == {
        "data": "AAE=", "items": ["aGk="]}


def test_output_checks_are_strict():
    with pytest.raises(ShapeError) as unknown:
        ECS.check_output("ListClusters", {"clusterArns": [], "surprise": 1})
    assert unknown.value.kind == "unknown"
    with pytest.raises(ShapeError):
        ECS.check_output("DescribeContainerInstances",
                         {"containerInstances": [{"registeredAt": "2024-05-06T07:08:09Z"}]})
    ECS.check_output("ListClusters", {"clusterArns": ["arn"], "nextToken": "t"})


# -- conformance ----------------------------------------------------------------------------


def error(code: str, message: str = "m", header: str | None = None, status: int = 400):
    body = json.dumps({"__type": code, "message": message}).encode()
    return problem_with(ECS, "DeleteCluster", status, {"X-Amzn-ErrorType": header or code}, body)


def test_a_well_formed_error_and_success():
    assert error("ClusterNotFoundException") is None
    assert error("SerializationException") is None
    assert error("UnknownOperationException") is None
    success = json.dumps({"clusterArns": []}).encode()
    assert problem_with(ECS, "ListClusters", 200, {}, success) is None


@pytest.mark.parametrize("problem", [
    lambda: error("ClusterNotFoundException", status=500),
    lambda: error("ClusterNotFoundException", status=302),
    lambda: error("NoSuchThingException"),  # not an exception of ECS's model
    lambda: error("ClusterNotFoundException", header="ClientException"),
    lambda: problem_with(ECS, "DeleteCluster", 400, {}, b'{"__type": "ClientException"}'),
    lambda: problem_with(ECS, "DeleteCluster", 400, {"X-Amzn-ErrorType": "ClientException"},
                         b'{"__type": "ClientException", "message": "m", "extra": 1}'),
    lambda: problem_with(ECS, "DeleteCluster", 400, {"X-Amzn-ErrorType": "ClientException"},
                         b'{"__type": "ClientException", "message": 5}'),
    lambda: problem_with(ECS, "ListClusters", 200, {}, b"<html>"),
    lambda: problem_with(ECS, "ListClusters", 200, {}, b'{"clusterArns": "arn"}'),
    lambda: problem_with(ECS, "ListClusters", 200, {}, b'{"extra": []}'),
])
def test_malformed_answers_are_named(problem):
    assert problem()

"""The AWS JSON 1.1 protocol layer over real HTTP: how bad requests are refused, the error form,
timestamps on the wire, and who the caller is (account from the access key, region from SigV4).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import uuid

import pytest
import requests
from botocore import xform_name
from cheroot import wsgi
from botocore.config import Config
from flask import Flask

from api_shapes import load_service
from emulator.aws import context
from emulator.aws.json_service import HandlerTable, JsonService
from emulator.aws.moto_bridge import MotoBridge
from emulator.aws.router import AwsRouter
from emulator.config import Settings
from emulator.aws.errors import AwsError
from emulator.ecr import errors as ecr_errors
from emulator.ecs import errors as ecs_errors
from emulator.ecs import api as ecs_api

ECS = load_service("ecs")
TARGET = ECS.target_prefix
DEFAULT_ACCOUNT = "123456789012"


def post(endpoint: str, operation: str, body: bytes | str, headers: dict | None = None):
    return requests.post(
        endpoint,
        data=body,
        headers={
            "X-Amz-Target": f"{TARGET}.{operation}",
            "Content-Type": "application/x-amz-json-1.1",
            **(headers or {}),
        },
        timeout=30,
    )


def sigv4(access_key: str, region: str) -> dict:
    """An Authorization header as an SDK signs it (the signature itself is not checked)."""
    scope = f"{access_key}/20240101/{region}/ecs/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"}


def assert_aws_error(response, code: str) -> str:
    """The response is the AWS error `code` in exactly the form SDKs parse; return its message."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"__type", "message"}, body
    assert body["__type"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert response.headers["X-Amzn-ErrorType"] == code
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["Content-Type"] == "application/x-amz-json-1.1"
    return body["message"]


def unbuilt_operation() -> str:
    missing = sorted(set(ECS.operations) - set(ecs_api.handlers().handlers))
    if not missing:
        pytest.skip("every ECS operation of botocore's model has a handler")
    return missing[0]


# -- bad requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"clusterName": "a",}', b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000],
    ids=["syntax", "trailing-comma", "not-utf8", "deeply-nested"],
)
def test_invalid_json_is_a_serialization_exception(clean_emulator, body):
    assert_aws_error(post(clean_emulator.endpoint_url, "ListClusters", body), "SerializationException")


@pytest.mark.parametrize(
    "operation, body",
    [
        ("ListClusters", {"maxResults": "ten"}),
        ("ListClusters", {"maxResults": 1.5}),
        ("CreateCluster", ["not", "an", "object"]),
        ("CreateCluster", {"clusterName": 7}),
        ("CreateCluster", {"tags": {"key": "k"}}),
        ("CreateCluster", {"settings": [{"name": ["containerInsights"]}]}),
        ("DescribeClusters", {"clusters": [None, {"a": 1}]}),
    ],
)
def test_a_wrong_json_type_is_a_serialization_exception(clean_emulator, operation, body):
    response = post(clean_emulator.endpoint_url, operation, json.dumps(body))
    assert_aws_error(response, "SerializationException")


@pytest.mark.parametrize(
    "operation, body, names",
    [
        ("DeleteCluster", {}, "cluster"),
        ("TagResource", {"resourceArn": "arn:aws:ecs:us-east-1:123456789012:cluster/a"}, "tags"),
        ("CreateCluster", {"tags": [{"key": "k" * 129, "value": "v"}]}, "tags[0].key"),
        ("CreateCluster", {"tags": [{"key": f"k{i}"} for i in range(51)]}, "tags"),
        (
            "CreateCluster",
            {"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1001}]},
            "weight",
        ),
        ("CreateCluster", {"settings": [{"name": "loudness", "value": "x"}]}, "loudness"),
        ("DescribeClusters", {"include": ["TAGS", "EVERYTHING"]}, "EVERYTHING"),
    ],
    ids=["missing", "missing-list", "too-long", "too-many", "out-of-range", "enum", "enum-in-list"],
)
def test_invalid_values_are_an_invalid_parameter_exception(clean_emulator, operation, body, names):
    message = assert_aws_error(
        post(clean_emulator.endpoint_url, operation, json.dumps(body)), "InvalidParameterException"
    )
    assert names in message


ECR_TARGET = load_service("ecr").target_prefix


@pytest.mark.parametrize("body", [
    b'{"repositoryNames": ["a\\ud800b"]}',      # a JSON escape of a lone surrogate
    b'{"repositoryNames": ["a\xed\xa0\x80b"]}',  # its UTF-8 bytes, which json.loads takes
], ids=["escaped", "raw"])
def test_a_lone_surrogate_in_a_patterned_string_is_a_pattern_mismatch(clean_emulator, body):
    """RE2 cannot take a lone surrogate (UnicodeEncodeError): it was a 500 InternalFailure."""
    response = post(clean_emulator.endpoint_url, "DescribeRepositories", body,
                    {"X-Amz-Target": f"{ECR_TARGET}.DescribeRepositories"})
    message = assert_aws_error(response, "InvalidParameterException")
    assert "repositoryNames[0]" in message and "pattern" in message


def test_a_number_past_a_double_is_out_of_range(clean_emulator):
    """float() of a 401-digit integer raises OverflowError: it was a 500 InternalFailure."""
    body = (b'{"serviceName": "s", "deploymentConfiguration": {"canaryConfiguration": '
            b'{"canaryPercent": 1' + b"0" * 400 + b"}}}")
    message = assert_aws_error(post(clean_emulator.endpoint_url, "CreateService", body),
                               "InvalidParameterException")
    assert "canaryPercent" in message and "out of range" in message


def test_unknown_members_are_ignored(clean_emulator):
    response = post(clean_emulator.endpoint_url, "CreateCluster", json.dumps(
        {"clusterName": "a", "someFutureMember": {"x": [1, 2]}}))
    assert response.status_code == 200
    assert response.json()["cluster"]["clusterName"] == "a"


def test_an_empty_body_means_no_parameters(clean_emulator):
    response = post(clean_emulator.endpoint_url, "ListClusters", b"")
    assert response.status_code == 200
    assert response.json() == {"clusterArns": []}


@pytest.mark.parametrize("operation", ["NoSuchOperation", "", "listClusters"])
def test_an_unknown_operation_is_refused(clean_emulator, operation):
    message = assert_aws_error(
        post(clean_emulator.endpoint_url, operation, b"{}"), "UnknownOperationException"
    )
    assert operation in message


def test_an_operation_we_have_not_built_says_so(clean_emulator):
    operation = unbuilt_operation()
    message = assert_aws_error(
        post(clean_emulator.endpoint_url, operation, b"{}"), "UnsupportedFeatureException"
    )
    assert operation in message


def test_boto3_sees_the_unsupported_operation_as_the_modelled_error(clean_emulator):
    operation = unbuilt_operation()
    ecs = clean_emulator.client("ecs", config=Config(parameter_validation=False))
    method = getattr(ecs, xform_name(operation))
    with pytest.raises(ecs.exceptions.UnsupportedFeatureException) as excinfo:
        method()
    assert operation in excinfo.value.response["Error"]["Message"]


def test_boto3_parses_our_errors(ecs):
    with pytest.raises(ecs.exceptions.ClusterNotFoundException) as excinfo:
        ecs.delete_cluster(cluster="absent")
    error = excinfo.value.response
    assert error["Error"]["Code"] == "ClusterNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["RequestId"]


def test_request_ids_differ_per_request(clean_emulator):
    ids = {post(clean_emulator.endpoint_url, "ListClusters", b"{}").headers["x-amzn-RequestId"]
           for _ in range(3)}
    assert len(ids) == 3
    for request_id in ids:  # AWS's are version 4 UUIDs, in their canonical form
        parsed = uuid.UUID(request_id)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, request_id)


_FORKED_IDS = """
import json, os
from emulator.aws import context
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # the child: its first ids, then out
    os.write(write, "\\n".join(context.new_request_id() for _ in range(3)).encode())
    os._exit(0)
os.close(write)
os.waitpid(pid, 0)
with os.fdopen(read) as child:
    theirs = child.read().split("\\n")
print(json.dumps({"ours": [context.new_request_id() for _ in range(1000)], "theirs": theirs}))
"""


def test_request_ids_do_not_repeat_across_processes():
    """The random part is drawn anew in a forked child, and per process: a counter alone would
    repeat another process's ids. Forked in a fresh interpreter of one thread: a fork of this
    one, whose other threads may hold locks, could deadlock in the child."""
    done = subprocess.run([sys.executable, "-c", _FORKED_IDS], capture_output=True, text=True,
                          timeout=60, check=True)
    ids = json.loads(done.stdout)
    ours, theirs = set(ids["ours"]), set(ids["theirs"])
    assert len(ours) == 1000 and len(theirs) == 3 and not ours & theirs
    assert {i[:24] for i in theirs} != {i[:24] for i in ours}


# -- who is calling -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "access_key, account",
    [("111122223333", "111122223333"), ("AKIAIOSFODNN7EXAMPLE", DEFAULT_ACCOUNT),
     ("12345678901", DEFAULT_ACCOUNT), ("1234567890123", DEFAULT_ACCOUNT),
     ("testing", DEFAULT_ACCOUNT)],
)
def test_the_account_is_a_12_digit_access_key_id(clean_emulator, access_key, account):
    ecs = clean_emulator.client("ecs", account=access_key)
    arn = ecs.create_cluster(clusterName="who")["cluster"]["clusterArn"]
    assert arn == f"arn:aws:ecs:us-east-1:{account}:cluster/who"


@pytest.mark.parametrize("region, partition", [
    ("eu-west-1", "aws"), ("ap-southeast-2", "aws"), ("cn-north-1", "aws-cn"),
    ("us-gov-west-1", "aws-us-gov"),
])
def test_the_region_comes_from_the_sigv4_scope(clean_emulator, region, partition):
    ecs = clean_emulator.client("ecs", region=region)
    arn = ecs.create_cluster(clusterName="where")["cluster"]["clusterArn"]
    assert arn == f"arn:{partition}:ecs:{region}:{DEFAULT_ACCOUNT}:cluster/where"


def test_raw_sigv4_header_picks_account_and_region(clean_emulator):
    response = post(clean_emulator.endpoint_url, "CreateCluster", '{"clusterName": "raw"}',
                    sigv4("444455556666", "sa-east-1"))
    assert response.status_code == 200
    assert response.json()["cluster"]["clusterArn"] == (
        "arn:aws:ecs:sa-east-1:444455556666:cluster/raw")
    unsigned = post(clean_emulator.endpoint_url, "ListClusters", b"{}")
    assert unsigned.json() == {"clusterArns": []}  # default account and region: nothing there


# -- timestamps -----------------------------------------------------------------------------


class _State:
    lock = threading.RLock()

    def store_for(self, account, region):
        return None

    def reset(self):
        pass


REGISTERED_AT = dt.datetime(2024, 5, 6, 7, 8, 9, 250000, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module")
def timestamp_server():
    """A server whose one ECS handler answers a container instance registered at REGISTERED_AT:
    the serializer's job, apart from whichever ECS operations happen to be built."""
    table = HandlerTable()

    @table("DescribeContainerInstances")
    def describe(call):
        assert isinstance(call.request.container_instances, list)
        return {"containerInstances": [{"containerInstanceArn": "arn", "registeredAt": REGISTERED_AT}],
                "failures": []}

    settings = Settings(host="127.0.0.1", port=0, strict_responses=True)
    state = _State()
    service = JsonService(shapes=ECS, handlers=table, state=state,
                          invalid_parameter=ecs_errors.InvalidParameterException,
                          not_implemented=ecs_errors.UnsupportedFeatureException,
                          strict_responses=True)
    flask_app = Flask("timestamps")
    moto = MotoBridge()
    router = AwsRouter(flask_app, [service], moto, settings)  # a Flask app or a factory
    # The bare router under cheroot: no engine or scheduler is needed to test serialization.
    server = wsgi.Server(("127.0.0.1", 0), router, numthreads=2)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()


def test_timestamps_are_epoch_seconds_on_the_wire(timestamp_server):
    response = post(timestamp_server, "DescribeContainerInstances",
                    json.dumps({"containerInstances": ["x"]}))
    assert response.status_code == 200
    instance = response.json()["containerInstances"][0]
    assert instance["registeredAt"] == REGISTERED_AT.timestamp() == 1714979289.25


def test_boto3_reads_our_timestamps_as_datetimes(timestamp_server):
    import boto3

    ecs = boto3.client("ecs", endpoint_url=timestamp_server, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    instance = ecs.describe_container_instances(containerInstances=["x"])["containerInstances"][0]
    assert instance["registeredAt"] == REGISTERED_AT


def test_input_timestamps_accept_epoch_seconds_and_iso_8601():
    # ListServiceDeployments filters by createdAt {before, after}: timestamps in a request.
    for value in (1714979289.25, "2024-05-06T07:08:09.25Z", "2024-05-06T07:08:09.250+00:00"):
        params = ECS.parse_input("ListServiceDeployments",
                                 {"service": "s", "createdAt": {"after": value}})
        assert params["createdAt"]["after"] == REGISTERED_AT


# -- the error classes ----------------------------------------------------------------------


def _error_classes():
    return [(model, cls) for model, module in (("ecs", ecs_errors), ("ecr", ecr_errors))
            for cls in vars(module).values()
            if isinstance(cls, type) and issubclass(cls, AwsError) and cls is not AwsError
            and cls.__module__ == module.__name__]


@pytest.mark.parametrize("model, cls", _error_classes(),
                         ids=lambda value: value if isinstance(value, str) else value.__name__)
def test_every_error_class_is_an_exception_shape_of_its_model(model, cls):
    shapes = load_service(model)
    assert cls.__name__ in shapes.exception_names
    assert cls.code == cls.__name__
    assert cls("m").body() == {"__type": cls.__name__, "message": "m"}
    # A fault (ServerException) is a 5xx in the model; every other exception a 4xx.
    assert (cls.status >= 500) == bool(shapes.shapes[cls.__name__].get("fault")), cls.status
    assert 400 <= cls.status < 600

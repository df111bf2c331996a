"""Fuzzing the services moto serves, one per protocol family (IAM: query, CloudWatch Logs: JSON),
through boto3 with its parameter validation off: for every operation of each model,
parameters drawn from the input shape. Whatever moto makes of them, the answer is one an SDK can
read: a success, or an AWS error with a code and a message, never a bare 500.

Deterministic (derandomized, a few examples per operation, as tests/test_fuzz.py's "ci").
"""

from __future__ import annotations

import boto3
import botocore.config
import pytest
from botocore import xform_name
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api_shapes import load_service
from shape_strategies import valid_body

SERVICES = ("iam", "logs")
# Event-stream operations (Logs' StartLiveTail, GetLogObject) hold the call open: not fuzzed.
STREAMING = {"StartLiveTail", "GetLogObject"}
OPERATIONS = [(name, op) for name in SERVICES for op in sorted(load_service(name).operations)
              if op not in STREAMING]
FUZZ = settings(max_examples=2, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck), print_blob=True)
WORDS = ("fuzz", "default", "arn:aws:iam::123456789012:role/fuzz")


@pytest.fixture(scope="module")
def clients(ecs_emulator):
    config = botocore.config.Config(parameter_validation=False, retries={"max_attempts": 1})
    return {name: boto3.client(name, endpoint_url=ecs_emulator.endpoint_url, config=config,
                               region_name="us-east-1", aws_access_key_id="testing",
                               aws_secret_access_key="testing") for name in SERVICES}


@pytest.mark.parametrize("service_name, operation", OPERATIONS,
                         ids=[f"{name}.{op}" for name, op in OPERATIONS])
@FUZZ
@given(data=st.data())
def test_moto_answers_are_readable(clients, service_name, operation, data):
    shapes = load_service(service_name)
    params = data.draw(valid_body(shapes, shapes.operations[operation].input_shape, WORDS))
    client = clients[service_name]
    try:
        getattr(client, xform_name(operation))(**params)
    except ClientError as error:
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        code = error.response["Error"].get("Code", "")
        assert code and not code.isdigit(), f"{operation}({params}): {status} without an AWS body"
        if status >= 500:
            assert code in ("InternalFailure", "InternalError", "NotImplemented"), (operation, code)
            assert error.response["Error"].get("Message"), operation
    except (ValueError, TypeError, KeyError, AttributeError):
        pass  # botocore could not even build the request from these parameters

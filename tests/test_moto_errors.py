"""What moto cannot answer is answered as AWS would, shaped for the service's protocol: operations
moto lacks, parts of operations it lacks, its crashes on a caller's bad value, paths that belong to no service; and the control
endpoints refuse bodies they cannot use with a JSON 400, never an HTML 500."""

from __future__ import annotations

import botocore.awsrequest
import pytest
import requests
from botocore.exceptions import ClientError


@pytest.fixture
def aws(clean_emulator):
    return clean_emulator.client


def signed(client, method: str, url: str, body: str = "", headers: dict | None = None):
    """A request signed by `client` (so the service is in its credential scope), sent raw."""
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body,
                                             headers=headers or {})
    client._request_signer.sign("Raw", request)
    return requests.request(method, url, data=body, headers=dict(request.headers), timeout=30)


def error_of(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"],
            response["Error"].get("Message", ""))


# -- operations moto does not implement ----------------------------------------------------------

def test_an_operation_moto_lacks_is_an_unknown_operation_per_protocol(aws):
    # Query protocol (IAM): InvalidAction, as AWS answers an action it does not know.
    code, status, message = error_of(
        lambda: aws("iam").generate_service_last_accessed_details(Arn="arn:aws:iam::1:role/r"))
    assert (code, status) == ("InvalidAction", 400)
    assert "generate_service_last_accessed_details" in message
    # JSON protocol (CloudWatch Logs).
    code, status, message = error_of(lambda: aws("logs").describe_account_policies(
        policyType="DATA_PROTECTION_POLICY"))
    assert (code, status) == ("UnknownOperationException", 400)
    assert "describe_account_policies" in message


def test_an_action_no_service_has_is_answered_in_each_protocol(aws, clean_emulator):
    url = clean_emulator.endpoint_url + "/"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    iam = signed(aws("iam"), "POST", url, "Action=FrobnicateWidgets&Version=2010-05-08", form)
    assert iam.status_code == 400
    assert "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code>" in iam.text
    ec2 = signed(aws("ec2"), "POST", url, "Action=FrobnicateWidgets&Version=2016-11-15", form)
    assert ec2.status_code == 400
    assert "<Response><Errors><Error><Code>InvalidAction</Code>" in ec2.text
    logs = signed(aws("logs"), "POST", url, "{}", {
        "X-Amz-Target": "Logs_20140328.FrobnicateWidgets",
        "Content-Type": "application/x-amz-json-1.1"})
    assert logs.status_code == 400
    assert logs.json()["__type"] == "UnknownOperationException"


# -- parts of operations moto does not implement ------------------------------------------------

def test_a_part_of_an_operation_moto_lacks_is_named_not_called_an_unknown_operation(aws):
    """moto has DescribeAddresses but not this filter: EC2's Unsupported, 400, naming both."""
    aws("ec2").allocate_address(Domain="vpc")  # (the filter is looked at per address)
    code, status, message = error_of(lambda: aws("ec2").describe_addresses(
        Filters=[{"Name": "network-interface-owner-id", "Values": ["123456789012"]}]))
    assert (code, status) == ("Unsupported", 400)
    assert "DescribeAddresses" in message and "network-interface-owner-id" in message


def test_a_part_moto_lacks_in_a_json_service_is_its_validation_error(aws, monkeypatch):
    from moto.logs.responses import LogsResponse

    def lacking(self):
        raise NotImplementedError("the logGroupClass filter is not yet implemented")

    monkeypatch.setattr(LogsResponse, "describe_log_groups", lacking)
    code, status, message = error_of(lambda: aws("logs").describe_log_groups())
    assert (code, status) == ("InvalidParameterException", 400)
    assert "DescribeLogGroups" in message and "logGroupClass filter" in message


def test_a_form_body_is_read_once_for_everyone_who_looks():
    """Persistence, the request log and the moto bridge each ask for a call's parameters; the
    body is read from the socket's stream once, and the application still reads all of it."""
    import io

    from emulator.aws.context import form_action, form_params

    class Counting(io.BytesIO):
        reads = 0

        def read(self, *args):
            Counting.reads += 1
            return super().read(*args)

    body = b"Action=ListRoles&Version=2010-05-08&Marker=m%20n"
    environ = {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
               "CONTENT_LENGTH": str(len(body)), "QUERY_STRING": "a=1",
               "wsgi.input": Counting(body)}
    assert form_action(environ) == "ListRoles"
    assert form_params(environ, limit=64 * 1024 * 1024) == [
        ("a", "1"), ("Action", "ListRoles"), ("Version", "2010-05-08"), ("Marker", "m n")]
    assert Counting.reads == 1
    assert environ["wsgi.input"].read() == body  # what the application reads


# -- moto's crashes ------------------------------------------------------------------------------

def test_a_crash_on_a_bad_value_is_the_operations_validation_error(aws, clean_emulator):
    url = clean_emulator.endpoint_url + "/"
    answer = signed(aws("iam"), "POST", url, "Action=ListAccessKeys&Version=2010-05-08&MaxItems=abc",
                    {"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400
    assert "<Code>ValidationError</Code>" in answer.text
    code, status, _ = error_of(lambda: aws("logs").describe_destinations(nextToken="garbage"))
    assert (code, status) == ("InvalidParameterException", 400)


def test_an_internal_crash_is_an_internal_failure_with_a_message(aws, clean_emulator, monkeypatch):
    from moto.logs.responses import LogsResponse

    def broken(self):
        raise RuntimeError("a bug in moto")

    monkeypatch.setattr(LogsResponse, "describe_log_groups", broken)
    code, status, message = error_of(lambda: aws("logs").describe_log_groups())
    assert (code, status) == ("InternalFailure", 500)
    assert "a bug in moto" in message


# -- paths of ours that must not reach moto -----------------------------------------------------

def test_a_registry_path_that_is_no_route_is_the_registrys_404(clean_emulator, aws):
    url = clean_emulator.endpoint_url
    token = aws("ecr").get_authorization_token()["authorizationData"][0]["authorizationToken"]
    answer = requests.post(f"{url}/v2/app/blobs/", headers={"Authorization": f"Basic {token}"},
                           timeout=10)
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "UNSUPPORTED"
    assert requests.post(f"{url}/v2/app/blobs/", timeout=10).status_code == 401


def test_an_unsigned_request_of_no_service_is_missing_authentication(clean_emulator, aws):
    """Without a SigV4 scope (or a host name, as on AWS) the service cannot be told: moto took
    these for S3 and crashed (500). Each is AWS's MissingAuthenticationToken, 403, in the shape
    of its protocol; unsigned calls moto can tell still reach it."""
    url = clean_emulator.endpoint_url + "/"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for body in ("Action=CreateStack&StackName=s&TemplateBody=%7B%7D",
                 "Action=CreateQueue&QueueName=q", "Action=CreateUser&UserName=u",
                 "Action=CreateTopic&Name=t"):
        answer = requests.post(url, data=body, headers=form, timeout=30)
        assert answer.status_code == 403, (body, answer.text)
        assert ("<ErrorResponse><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code>"
                "<Message>Request is missing Authentication Token</Message>") in answer.text
    options = requests.options(url, timeout=30)
    assert options.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in options.text
    json_call = requests.post(url, data="{}", timeout=30, headers={
        "X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"})
    assert json_call.status_code == 403
    assert json_call.json()["__type"] == "MissingAuthenticationTokenException"
    # AWS serves these unsigned; so does moto: its answer, not ours.
    sts = requests.post(url, headers=form, timeout=30, data=(
        "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleSessionName=s"
        "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&WebIdentityToken=t"))
    assert sts.status_code == 200 and "<AssumeRoleWithWebIdentityResult>" in sts.text
    assert requests.get(url, timeout=30).status_code == 200  # S3's ListBuckets, as before
    # A target moto cannot split is moto's own 400, never a 500.
    odd = requests.post(url, data="{}", timeout=30, headers={
        "X-Amz-Target": "NoDot", "Content-Type": "application/x-amz-json-1.0"})
    assert 400 <= odd.status_code < 500, odd.text


def test_a_form_upload_to_a_buckets_host_name_reaches_s3(clean_emulator, aws):
    """S3's POST Object from a browser form (presigned POST, virtual-host style): unsigned by
    header, a multipart body to "/" of `bucket.localhost`. It is S3's, not a request of no
    service."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="uploads")
    port = clean_emulator.endpoint_url.rsplit(":", 1)[1]
    answer = requests.post(clean_emulator.endpoint_url + "/", timeout=30,
                           headers={"Host": f"uploads.localhost:{port}"},
                           data={"key": "hello.txt"}, files={"file": ("hello.txt", b"hi")})
    assert answer.status_code in (200, 204), answer.text
    assert s3.get_object(Bucket="uploads", Key="hello.txt")["Body"].read() == b"hi"


def test_a_method_s3_has_no_operation_for_is_method_not_allowed(clean_emulator, aws):
    """POST to an object with none of ?uploads, ?restore, ?uploadId, ?select: moto's S3 found no
    operation in its table and crashed (500, KeyError 'DEFAULT'), for anyone who could reach the
    port, unsigned too. S3 answers 405 MethodNotAllowed."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="posts")
    url = f"{clean_emulator.endpoint_url}/posts/some/key"
    for answer in (requests.post(url, data=b"x", timeout=30),
                   signed(s3, "POST", url, body="x"),
                   requests.post(clean_emulator.endpoint_url + "/_Emulator/reset", timeout=30)):
        assert answer.status_code == 405, answer.text
        assert "<Code>MethodNotAllowed</Code>" in answer.text
        assert "The specified method is not allowed against this resource." in answer.text
    # The operations POST does have on an object still reach moto.
    upload = s3.create_multipart_upload(Bucket="posts", Key="some/key")
    assert upload["UploadId"]


@pytest.mark.parametrize("path, body", [
    ("/_emulator/ecr/lifecycle", {"registryId": ["x"]}),
    ("/_emulator/ecr/lifecycle", {"registryId": "not-an-account"}),
    ("/_emulator/ecr/lifecycle", {"repositoryName": 5}),
    ("/_emulator/ecr/lifecycle", [1, 2]),
    ("/_emulator/ecr/lifecycle", {"now": "yesterday"}),
])
def test_control_endpoints_refuse_bodies_they_cannot_use(clean_emulator, path, body):
    answer = requests.post(clean_emulator.endpoint_url + path, json=body, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["__type"] == "InvalidParameterException"


def test_findings_with_a_wrong_type_are_refused(clean_emulator):
    answer = requests.put(clean_emulator.endpoint_url + "/_emulator/ecr/findings",
                          json={"repositoryName": ["app"], "findings": []}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["__type"] == "InvalidParameterException"


def test_a_control_character_in_a_query_value_is_refused(aws):
    """moto would store it and answer XML no SDK can read (found by tests/test_fuzz_moto.py)."""
    code, status, message = error_of(lambda: aws("iam").create_role(
        RoleName="bad\x08name", AssumeRolePolicyDocument="{}"))
    assert (code, status) == ("ValidationError", 400)
    assert "RoleName" in message
    assert aws("iam").list_roles()["Roles"] == []

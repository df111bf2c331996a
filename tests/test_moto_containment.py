"""moto acts for every caller, tasks included: it runs no containers on this host's Docker and
sends no HTTP to this host's own addresses (emulator/aws/moto_containment.py).

The calls here come from the host: what moto does with a call does not depend on who made it,
so a Batch job or an SNS delivery the host cannot make a container or a loopback request of, a
task cannot either.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.conftest import BUSYBOX
from tests.waiting import patience

TRUST = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"},
    "Action": "sts:AssumeRole"}]}


@pytest.fixture
def aws(clean_emulator):
    return clean_emulator.client


def _containers_created(docker_client, since: float, prefix: str) -> list[str]:
    """Names of the containers created on the Engine since `since` whose name starts so (gone
    ones too: the events say)."""
    events = docker_client.events(since=int(since), until=int(time.time()) + 1, decode=True,
                                  filters={"type": "container", "event": "create"})
    names = [e.get("Actor", {}).get("Attributes", {}).get("name", "") for e in events]
    return [n for n in names if n.startswith(prefix)]


def test_a_privileged_batch_job_with_the_hosts_root_runs_no_container(aws, docker_client):
    """moto's Batch would run this job on the host's Docker, privileged, with / mounted."""
    role = aws("iam").create_role(RoleName="batch", AssumeRolePolicyDocument=json.dumps(TRUST))
    batch = aws("batch")
    environment = batch.create_compute_environment(
        computeEnvironmentName="local", type="UNMANAGED", state="ENABLED",
        serviceRole=role["Role"]["Arn"])["computeEnvironmentArn"]
    queue = batch.create_job_queue(
        jobQueueName="q", state="ENABLED", priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}])["jobQueueArn"]
    batch.register_job_definition(jobDefinitionName="root", type="container", containerProperties={
        "image": BUSYBOX, "command": ["true"], "privileged": True, "vcpus": 1, "memory": 64,
        "volumes": [{"name": "root", "host": {"sourcePath": "/"}}],
        "mountPoints": [{"sourceVolume": "root", "containerPath": "/host",
                         "readOnly": False}]})
    name = f"probe-{uuid.uuid4().hex[:10]}"
    started = time.time()
    job = batch.submit_job(jobName=name, jobQueue=queue, jobDefinition="root")["jobId"]

    deadline = time.monotonic() + 20
    while (status := batch.describe_jobs(jobs=[job])["jobs"][0]["status"]) not in (
            "SUCCEEDED", "FAILED") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _containers_created(docker_client, started, name) == []
    assert status == "SUCCEEDED"  # moto's docker-less Batch: done at once


def test_lambda_invoke_answers_without_a_container(aws):
    """moto's Lambda would pull a runtime image and run the function's code on the host's Docker."""
    iam = aws("iam")
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(TRUST).replace(
        "batch.", "lambda."))["Role"]["Arn"]
    lam = aws("lambda")
    name = f"probe-{uuid.uuid4().hex[:10]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role,
                        Handler="index.handler", Code={"ZipFile": _zip_of("def handler(e, c): 1")})
    answer = lam.invoke(FunctionName=name, Payload=b'{"hello": 1}')
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {"hello": 1}  # the docker-less echo


def _zip_of(source: str) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", source)
    return buffer.getvalue()


@pytest.fixture
def listener():
    """An HTTP server on this host's loopback; the paths it was sent, in order."""
    import http.server
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits
    yield server
    server.shutdown()
    server.server_close()


def test_sns_delivers_nothing_to_this_hosts_addresses(aws, clean_emulator, listener):
    """A task subscribing the emulator's own control endpoint, or a service on the host's
    loopback, would have moto's process POST there as the host."""
    aws("ecs").create_cluster(clusterName="survives")
    sns = aws("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    port = listener.server_address[1]
    for endpoint in (f"{clean_emulator.endpoint_url}/_emulator/reset",
                     f"http://127.0.0.1:{port}/direct",
                     f"http://localhost:{port}/by-name",
                     f"http://[::ffff:127.0.0.1]:{port}/mapped",
                     f"http://0.0.0.0:{port}/unspecified"):
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint)
    assert sns.publish(TopicArn=topic, Message="hello")["MessageId"]  # the call succeeds

    assert aws("ecs").describe_clusters(clusters=["survives"])["clusters"][0]["status"] == "ACTIVE"
    assert listener.hits == []


def test_firehose_delivers_nothing_to_this_hosts_loopback(aws, listener):
    firehose = aws("firehose")
    firehose.create_delivery_stream(DeliveryStreamName="s", HttpEndpointDestinationConfiguration={
        "EndpointConfiguration": {"Url": f"http://127.0.0.1:{listener.server_address[1]}/f"},
        "S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/f",
                            "BucketARN": "arn:aws:s3:::b"}})
    assert firehose.put_record(DeliveryStreamName="s", Record={"Data": b"x"})["RecordId"]
    assert listener.hits == []


@pytest.fixture
def endless():
    """A server on the loopback whose answers never end: `/fast` streams, `/drip` sends a byte
    a tenth of a second, `/redirect` is a 302 to /done with an endless body."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            if self.path == "/short":  # promises 100 bytes, sends 5 and closes
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"xxxxx")
                self.wfile.flush()
                self.close_connection = True
                return
            if self.path == "/done":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            self.send_response(302 if self.path == "/redirect" else 200)
            if self.path == "/redirect":
                self.send_header("Location", "/done")
            self.end_headers()  # no length: the body lasts until the connection closes
            try:
                while True:
                    self.wfile.write(b"x" if self.path == "/drip" else b"x" * 65536)
                    self.wfile.flush()
                    if self.path == "/drip":
                        time.sleep(0.1)
            except OSError:
                pass

        do_GET = do_POST  # a 302 is followed with a GET
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_delivery_reads_a_bounded_answer_in_bounded_time(endless, monkeypatch):
    """moto reads an endpoint's answer whole, in memory: an endpoint that never ends it would
    fill the emulator's memory or hold the publishing call for ever."""
    import requests
    from urllib3.poolmanager import pool_classes_by_scheme

    from emulator.aws import moto_containment

    outbound = moto_containment._Outbound(requests)
    outbound._pools = pool_classes_by_scheme  # urllib3's own: this server is on the loopback
    answer = outbound.post(f"{endless}/fast", data=b"{}")
    assert answer.status_code == 200 and len(answer.content) == moto_containment.ANSWER_CAP
    answer = outbound.post(f"{endless}/redirect", data=b"{}")  # a redirect's body too
    assert answer.status_code == 200 and answer.content == b"ok"
    monkeypatch.setattr(moto_containment, "DEADLINE_S", 0.5)
    answer = outbound.post(f"{endless}/drip", data=b"{}")
    assert answer.status_code == 200 and 0 < len(answer.content) < 100
    # An answer broken mid-body (urllib3's own error, read by the adapter) is undelivered,
    # not an exception out of moto's Publish (a 500).
    answer = outbound.post(f"{endless}/short", data=b"{}")
    assert answer.status_code >= 500 and answer.content != b"xxxxx"


def test_functions_are_moto_lambdas_other_services_find(aws):
    """moto's docker-less Lambda is a backend of its own: SES would not find the function."""
    role = aws("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(
        TRUST).replace("batch.", "lambda."))["Role"]["Arn"]
    function = aws("lambda").create_function(
        FunctionName="on-mail", Runtime="python3.12", Role=role, Handler="index.handler",
        Code={"ZipFile": _zip_of("def handler(e, c): 1")})["FunctionArn"]
    ses = aws("ses")
    ses.create_receipt_rule_set(RuleSetName="rules")
    ses.create_receipt_rule(RuleSetName="rules", Rule={
        "Name": "r", "Enabled": True,
        "Actions": [{"LambdaAction": {"FunctionArn": function}}]})
    rule = ses.describe_receipt_rule(RuleSetName="rules", RuleName="r")["Rule"]
    assert rule["Actions"][0]["LambdaAction"]["FunctionArn"] == function


def test_batch_state_is_one_snapshot_part():
    """moto's docker-less Batch backend answers `__dict__` with its Batch backend's: saving
    both would save that state twice, and restore two copies of each job."""
    from moto.batch.models import batch_backends
    from moto.batch_simple.models import batch_simple_backends

    from emulator.persistence import moto_parts

    for backends in (batch_backends, batch_simple_backends):  # made as moto makes them
        backends["123456789012"]["us-east-1"]
    names = moto_parts.part_names()
    assert "moto-moto.batch.models:batch_backends" in names
    assert not [name for name in names if "batch_simple" in name]
    assert moto_parts.parts_for("batch") == ["moto-moto.batch.models:batch_backends"]
    # A batch_simple part saved by an older version is not put over Batch's own state.
    from emulator.persistence import snapshot

    live = batch_backends["123456789012"]["us-east-1"]
    live.stale_marker = "live"
    stale = snapshot.dumps({"address": ("moto.batch_simple.models", "batch_simple_backends"),
                            "backends": {("123456789012", "us-east-1"): {"stale_marker": "old"}}})
    moto_parts.restore(stale)
    assert live.stale_marker == "live"
    del live.stale_marker


def test_state_machines_are_not_executed_whatever_the_operator_set():
    """moto's executing Step Functions calls AWS through boto3 at localhost:5000, unguarded."""
    from emulator.aws import moto_containment

    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    moto_containment.configure(config)
    assert config["stepfunctions"]["execute_state_machine"] is False
    assert config["batch"]["use_docker"] is False and config["lambda"]["use_docker"] is True


@pytest.fixture
def names(monkeypatch):
    """socket.getaddrinfo answering for a few made-up names (the others as usual): `slow.test`
    when `names.answer` is set, `many.test` with 5000 addresses, `pinned.test` with the
    loopback's (and then, were it asked again, an address that is not there). The names asked,
    in order, are in `names.asked`."""
    import socket
    import threading

    real = socket.getaddrinfo
    names = type("Names", (), {})()
    names.asked, names.answer = [], threading.Event()

    def getaddrinfo(host, port, *args, **kwargs):
        names.asked.append(host)
        if host == "slow.test":
            names.answer.wait(10)
            host = "127.0.0.1"
        elif host == "many.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (f"10.1.{n // 250}.{n % 250}",
                                                                   port)) for n in range(5000)]
        elif host == "pinned.test":
            host = "127.0.0.1" if names.asked.count("pinned.test") == 1 else "192.0.2.1"
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield names
    names.answer.set()  # the stalled lookups end


def test_a_delivery_name_is_resolved_in_bounded_time_to_few_addresses(names, monkeypatch):
    """A hostile name (a resolver that answers slowly, thousands of addresses) would hold the
    call that delivers (Publish, PutEvents) as long as it liked: refused past the bounds, and
    while LOOKUPS lookups stall past their time a new name is refused at once."""
    from emulator.access import host_addresses
    from emulator.aws import moto_containment

    monkeypatch.setattr(moto_containment.RESOLVER, "seconds", 0.2)
    started = time.monotonic()
    with pytest.raises(moto_containment.RefusedAddress, match="slow.test was not resolved in "
                                                              "0.2 s"):
        moto_containment.checked_addresses("slow.test", 80)
    assert time.monotonic() - started < patience(1)
    checked = []
    monkeypatch.setattr(host_addresses, "reaches_this_host",
                        lambda address: checked.append(address) or False)
    # (the made-up resolver's 5000 answers take it past 0.2 s on a loaded machine: this step is
    # about their number, so it gets time; the stalls below are about time again)
    monkeypatch.setattr(moto_containment.RESOLVER, "seconds", patience(5))
    with pytest.raises(moto_containment.RefusedAddress,
                       match="many.test resolves to 5000 addresses, more than 16"):
        moto_containment.checked_addresses("many.test", 80)
    assert checked == []  # refused before 5000 checks
    monkeypatch.setattr(moto_containment.RESOLVER, "seconds", 0.2)
    for _ in range(moto_containment.RESOLVER.lookups - 1):  # with the first: every lookup stalled
        with pytest.raises(moto_containment.RefusedAddress, match="not resolved"):
            moto_containment.checked_addresses("slow.test", 80)
    with pytest.raises(moto_containment.RefusedAddress,
                       match="4 names are still being resolved"):
        moto_containment.checked_addresses("example.com", 80)
    # An address literal needs no slot; a name no resolver takes is refused, not a crash
    assert moto_containment.checked_addresses("192.0.2.7", 80) == ["192.0.2.7"]
    names.answer.set()
    assert wait_until_resolved(moto_containment) == ["127.0.0.1"]
    for bad in ("a..b", "a" * 64 + ".com"):
        with pytest.raises(moto_containment.RefusedAddress, match="not a valid host name"):
            moto_containment.checked_addresses(bad, 80)


def wait_until_resolved(moto_containment):
    from tests.waiting import wait_for

    return wait_for(lambda: _try(moto_containment.checked_addresses, "pinned.test", 80),
                    lambda found: isinstance(found, list), timeout=5)


def _try(call, *args):
    try:
        return call(*args)
    except OSError as error:
        return error


def test_a_delivery_connects_only_to_the_addresses_checked(names, listener, monkeypatch):
    """The name is resolved once: a second resolution (urllib3's own) could answer an address
    of this host after the check said another."""
    import requests

    from emulator.access import host_addresses
    from emulator.aws import moto_containment

    # The loopback stands in for an endpoint elsewhere: the check passes it.
    monkeypatch.setattr(host_addresses, "reaches_this_host", lambda address: False)
    outbound = moto_containment._Outbound(requests)
    answer = outbound.post(f"http://pinned.test:{listener.server_address[1]}/delivered",
                           data=b"{}")
    assert answer.status_code == 200 and listener.hits == ["/delivered"]
    assert names.asked.count("pinned.test") == 1  # (the literal it was pinned to is asked)

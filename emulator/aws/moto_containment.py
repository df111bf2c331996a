"""What moto may do beyond answering calls: run no containers, and send no HTTP to this host.

moto serves every caller, tasks included, and some of its services act outside the process:
- Batch and Lambda run containers on this host's Docker, as given (Batch passes `privileged` and
  host path volumes through): a task's job definition would be root on the host. moto's
  docker-less Batch is used instead (`use_docker: False`): a Batch job succeeds at once. A Lambda
  function's invocation (Invoke, or by S3 notifications, CloudFormation custom resources, SNS,
  Kinesis, DynamoDB streams, log subscriptions) answers as moto's docker-less Lambda does: its
  event back (or what `/moto-api/static/lambda-simple/response` queued); and moto's Docker
  client refuses, should any other path reach it.
- SNS http/https subscriptions, Firehose HTTP endpoint destinations, EventBridge API
  destinations, API Gateway HTTP integrations (and Step Functions' calls to them) POST from this
  process: to the emulator's own control endpoints that is a call from this host, and to any
  service on this host's loopback a call from inside. Those requests are made over connections
  that refuse addresses of this host (loopback, link-local, unspecified, any address of its
  interfaces): the name is resolved once, in bounded time and to a bounded number of addresses
  (access/name_resolution.py: a hostile name's slow resolver or thousands of addresses would
  hold the call; beyond either it is refused), every address is checked, and only those are
  connected to (no second resolution, which could answer elsewhere), on every redirect too.
  A refused or failed delivery is logged and dropped, as AWS drops what an endpoint does not
  take: the call that caused it (Publish, PutRecord, PutEvents) succeeds. Answers are read
  streamed, cut at a size and a time (TIMEOUT_S, DEADLINE_S, ANSWER_CAP).
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import json
import logging
import sys
import threading
import time

from emulator.access.name_resolution import Resolver, Unresolved

log = logging.getLogger("emulator.moto")

# moto's modules that send HTTP with `requests` from this process (their `requests` is replaced).
OUTBOUND_MODULES = (
    "moto.sns.models",
    "moto.firehose.models",
    "moto.events.models",
    "moto.apigateway.models",
    "moto.apigateway.integration_parsers.http_parser",
    "moto.apigateway.integration_parsers.aws_parser",
    "moto.apigateway.integration_parsers.unknown_parser",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
    "state_task_service_api_gateway",
)
# A delivery's connect and each of its reads wait this long at most (moto gives none: an endpoint
# that never answers would hold the caller's request for ever); its answers (redirects' too) are
# read for DEADLINE_S in all and kept to ANSWER_CAP bytes (moto reads them whole, in memory: an
# endpoint that streams without end would fill it).
TIMEOUT_S = (5, 15)
DEADLINE_S = 30.0
ANSWER_CAP = 1 << 20
LAMBDA_SIMPLE_ANSWER = "Simple Lambda happy path OK"  # moto's docker-less Lambda's
# The deliveries' names' lookups: their own, so names a task's image references stall do not
# refuse a delivery.
RESOLVER = Resolver(thread_name="moto-delivery-lookup")
_installed = threading.Lock()
_done = False


def configure(config: dict) -> None:
    """moto's docker-less Batch, moto's Lambda, Step Functions that execute nothing, whatever
the operator's moto configuration says (set before moto serves its first call)."""
    config.setdefault("batch", {})["use_docker"] = False
    # Not Lambda's: moto's docker-less Lambda is a backend of its own, where SES, S3 and the
    # others do not find the functions (and snapshots keep them in moto's Lambda). The
    # function's own invocation is replaced instead (_refuse_docker), with the same answers.
    config.setdefault("lambda", {})["use_docker"] = True
    # moto's executing Step Functions would make a state machine's SDK tasks as boto3 calls to
    # localhost:5000 from this process, past the guards below: state machines are not run.
    config.setdefault("stepfunctions", {})["execute_state_machine"] = False


def install() -> None:
    """Patch moto's ways out of the process (once per process: moto's classes are global)."""
    global _done
    with _installed:
        if _done:
            return
        _refuse_docker()
        for name in OUTBOUND_MODULES:
            if name in sys.modules:
                _guard_module(sys.modules[name])
        # The others are patched as moto imports them (it imports a service on its first call).
        sys.meta_path.insert(0, _GuardOnImport())
        _done = True


# -- no containers --------------------------------------------------------------------------------

def _refuse_docker() -> None:
    import docker.errors
    from moto.awslambda import models as lambda_models
    from moto.utilities import docker_utilities

    def refused(self):
        raise docker.errors.DockerException("the emulator's moto runs no containers")

    docker_utilities.DockerModel.docker_client = property(refused)

    def invoke_without_docker(self, event=None):
        # As moto's LambdaSimpleBackend.invoke answers: what is queued, else the event back.
        from moto.awslambda_simple.models import lambda_simple_backends

        queued = lambda_simple_backends[self.account_id][self.region].lambda_simple_results_queue
        if queued:
            return queued.pop(0), False, ""
        if isinstance(event, (dict, list)):
            event = json.dumps(event)
        return event or LAMBDA_SIMPLE_ANSWER, False, ""

    lambda_models.LambdaFunction._invoke_lambda = invoke_without_docker


# -- no HTTP to this host -------------------------------------------------------------------------

class RefusedAddress(OSError):
    """A delivery whose endpoint is (or resolves to) an address of this host."""


def checked_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, none of them this host's; else RefusedAddress (or
    socket.gaierror where it does not resolve)."""
    from emulator.access.host_addresses import HOST_NAMES, reaches_this_host

    if host.strip("[]").rstrip(".").lower() in HOST_NAMES:
        raise RefusedAddress(f"{host} names the emulator's host")
    try:
        addresses = RESOLVER.addresses(host.strip("[]"), port)
    except Unresolved as error:
        raise RefusedAddress(str(error)) from None
    except (UnicodeError, ValueError):  # "a..b", a label over 63 characters
        raise RefusedAddress(f"{host} is not a valid host name") from None
    local = [address for address in addresses if reaches_this_host(address)]
    if local:
        raise RefusedAddress(f"{host} is an address of the emulator's host ({', '.join(local)})")
    return addresses


def _connect(connection, addresses: list[str]):
    """A socket connected to the first of `addresses` that answers, all tried within the
    connection's connect timeout; urllib3's errors as its own _new_conn raises them."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
    from urllib3.util.connection import create_connection

    timeout = connection.timeout if isinstance(connection.timeout, (int, float)) else TIMEOUT_S[0]
    deadline, error = time.monotonic() + timeout, None
    for address in addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            return create_connection((address, connection.port), left,
                                     source_address=connection.source_address,
                                     socket_options=connection.socket_options)
        except OSError as failed:
            error = failed
    if error is None or isinstance(error, TimeoutError):
        raise ConnectTimeoutError(connection, f"Connection to {connection.host} timed out. "
                                              f"(connect timeout={timeout})")
    raise NewConnectionError(connection, f"Failed to establish a new connection: {error}")


def _guarded_connections():
    from urllib3 import connection, connectionpool

    def _new_conn(self):
        # self.host stays the name (TLS's server name, the Host header); only the addresses
        # checked here are connected to
        return _connect(self, checked_addresses(self._dns_host, self.port))

    http = type("GuardedHTTPConnection", (connection.HTTPConnection,), {"_new_conn": _new_conn})
    https = type("GuardedHTTPSConnection", (connection.HTTPSConnection,),
                 {"_new_conn": _new_conn})
    return {
        "http": type("GuardedPool", (connectionpool.HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedSPool", (connectionpool.HTTPSConnectionPool,),
                      {"ConnectionCls": https}),
    }


class _Outbound:
    """Stands in for the `requests` module in moto's sending modules: the same names, but each
    request goes through a session whose connections refuse this host, and a failure is logged
    and answered as an unreachable endpoint's 502."""

    def __init__(self, requests_module):
        self._requests = requests_module
        self._pools = _guarded_connections()

    def __getattr__(self, name):
        return getattr(self._requests, name)  # exceptions, models, structures...

    def request(self, method, url, **kwargs):
        requests = self._requests
        session = requests.Session()
        session.trust_env = False  # a proxy from the environment would be the peer we check
        adapter = _capped_adapter_class()(time.monotonic() + DEADLINE_S)
        adapter.poolmanager.pool_classes_by_scheme = self._pools
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        kwargs["timeout"] = TIMEOUT_S
        import urllib3.exceptions

        try:
            with session:
                return session.request(method, url, **kwargs)
        # urllib3's own: an answer broken or stalled mid-body, read by the capped adapter itself
        except (requests.RequestException, OSError, urllib3.exceptions.HTTPError) as error:
            log.warning("moto's %s %s was not delivered: %s", method.upper(), url, error)
            return _undelivered(requests, method, url, error)

    def get(self, url, **kwargs):
        return self.request("GET", url, **kwargs)

    def post(self, url, data=None, json=None, **kwargs):
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url, data=None, **kwargs):
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url, data=None, **kwargs):
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url, **kwargs):
        return self.request("DELETE", url, **kwargs)

    def head(self, url, **kwargs):
        return self.request("HEAD", url, **kwargs)

    def options(self, url, **kwargs):
        return self.request("OPTIONS", url, **kwargs)


@functools.cache  # made on first use: requests is imported when moto first sends, not at start
def _capped_adapter_class():
    import requests.adapters

    class CappedAdapter(requests.adapters.HTTPAdapter):
        """Reads each answer itself, streamed: ANSWER_CAP bytes at most, until `deadline`."""

        def __init__(self, deadline: float):
            super().__init__()
            self.deadline = deadline

        def send(self, request, **kwargs):
            kwargs["stream"] = True
            answer = super().send(request, **kwargs)
            body = bytearray()
            # read1: what has arrived (read(n) waits for n bytes, which a byte a second would
            # stretch past any deadline); urllib3 1.x has none: small reads there.
            read = getattr(answer.raw, "read1", None) or (
                lambda n, **kw: answer.raw.read(1024, **kw))
            try:
                while chunk := read(64 * 1024, decode_content=True):
                    body += chunk
                    if len(body) >= ANSWER_CAP or time.monotonic() >= self.deadline:
                        log.warning("moto's %s %s: answer cut at %d bytes", request.method,
                                    request.url, min(len(body), ANSWER_CAP))
                        break
            finally:
                answer.close()  # the rest unread: the connection is dropped, not reused
            answer._content, answer._content_consumed = bytes(body[:ANSWER_CAP]), True
            return answer

    return CappedAdapter



def _undelivered(requests, method: str, url: str, error: Exception):
    answer = requests.Response()
    answer.status_code = 502
    answer.reason = "Bad Gateway"
    answer.url = url
    answer._content = f"not delivered: {error}".encode()
    answer.request = requests.Request(method.upper(), url).prepare()
    return answer


def _guard_module(module) -> None:
    import requests

    if getattr(module, "requests", None) is requests:
        module.requests = _Outbound(requests)


class _GuardOnImport(importlib.abc.MetaPathFinder):
    """Finds OUTBOUND_MODULES as Python would and patches each once it has run."""

    def find_spec(self, name, path, target=None):
        if name not in OUTBOUND_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_guard(module):
            exec_module(module)
            _guard_module(module)

        loader.exec_module = exec_and_guard  # this spec's loader only (one per module)
        return spec

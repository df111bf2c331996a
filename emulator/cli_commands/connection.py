"""How the CLI's client commands reach a running emulator: over HTTP only, with boto3 for AWS calls
and plain HTTP for the control endpoint (/_emulator/...). Never by importing server state.

The endpoint is --endpoint-url, else AWS_ENDPOINT_URL, else http://127.0.0.1:4566. Credentials
come from boto3's usual chain (a 12-digit access key id picks the account, as everywhere in the
emulator); with none configured, dummy keys are used, since the emulator checks no signature.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html import unescape

from emulator.access import control_token

DEFAULT_ENDPOINT = "http://127.0.0.1:4566"
# Host names of an emulator on this machine, whose control token the command line may read.
_THIS_HOST = ("127.0.0.1", "localhost", "::1", "0.0.0.0")
DEFAULT_REGION = "us-east-1"
SERVER_NAME = "ecs-emulator"  # the Server header of the emulator's answers


class CliError(Exception):
    """A failure the command reports in one line and exits 1 for."""


def endpoint_from(args) -> str:
    given = getattr(args, "endpoint_url", None) or os.environ.get("AWS_ENDPOINT_URL")
    return _checked_endpoint((given or DEFAULT_ENDPOINT).rstrip("/"))


def _checked_endpoint(url: str) -> str:
    """The endpoint, refused in one line where it is no http(s) URL with a host and a port that
    can be: urllib and botocore would raise a ValueError deep inside the first call (a
    traceback), or say "unknown url type: localhost" for the common `localhost:4566`. botocore's
    own check comes last (it refuses a host name with `_`, which urllib takes), and a query or a
    fragment, which no call's URL could keep, is refused too."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url

    try:
        parts = urllib.parse.urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # .port raises on one out of range
    except ValueError:  # an unclosed IPv6 bracket, a port that is no number
        parts, port_ok = None, False
    if (port_ok and parts.scheme in ("http", "https") and parts.hostname
            and not parts.query and not parts.fragment and "?" not in url and "#" not in url
            and (is_valid_endpoint_url(url) or is_valid_ipv6_endpoint_url(url))):
        return url
    underscore = " (botocore takes no `_` in a host name)" if parts and "_" in (
        parts.hostname or "") else ""
    raise CliError(f"--endpoint-url / AWS_ENDPOINT_URL {url!r} is not an http:// or https:// "
                   f"URL with a host and a valid port, without a query or fragment "
                   f"(e.g. {DEFAULT_ENDPOINT}){underscore}")


def region_from(args, configured: str | None = None) -> str:
    """The ECS CLI's words' order: --region, else the ECS CLI config's region, else
    AWS_REGION/AWS_DEFAULT_REGION."""
    return (getattr(args, "region", None) or configured or _environment_region()
            or DEFAULT_REGION)


def own_region_from(args, configured: str | None = None, session=None) -> str:
    """Our own commands' order (status, ps, logs, exec...), the AWS CLI's: --region, else
    AWS_REGION/AWS_DEFAULT_REGION, else the AWS profile's region, and only then the ECS CLI
    config's. A config the ECS CLI tutorial left as the default must not hide the region the
    shell exports; one named with --cluster-config is asked for, and comes after --region only.
    `session`: the boto3 session of the command's profile (aws_session()), if made."""
    named = configured if getattr(args, "cluster_config", None) else None
    return (getattr(args, "region", None) or named or _environment_region()
            or (session.region_name if session is not None else None) or configured
            or DEFAULT_REGION)


def _environment_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def aws_session(profile: str | None):
    """boto3's session of the AWS profile (--aws-profile, else AWS_PROFILE, else default),
    whose region_name is that profile's `region` in ~/.aws/config as botocore reads it; None for
    no such profile (the Connection's own session says so when it is made). One session serves
    both the region and the clients: making a second cost 80-110 ms."""
    import boto3
    import botocore.exceptions

    try:
        return boto3.Session(profile_name=profile or None)
    except botocore.exceptions.ProfileNotFound:
        return None


@dataclass
class Connection:
    endpoint_url: str
    region: str
    credentials: dict | None = None  # explicit keys (an ECS CLI profile), else boto3's chain
    profile: str | None = None  # a boto3 (AWS CLI) profile name
    _session: object = field(default=None, repr=False)
    _clients: dict = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = self._boto_session().client(
                service, endpoint_url=self.endpoint_url, region_name=key[1], **self._keys())
        return self._clients[key]

    def _boto_session(self):
        if self._session is None:
            import boto3

            self._session = boto3.Session(profile_name=self.profile or None)
        return self._session

    def _keys(self) -> dict:
        if self.credentials:
            return self.credentials
        if self._boto_session().get_credentials() is None:
            return {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        return {}

    def access_key(self) -> str:
        keys = self._keys()
        if keys:
            return keys["aws_access_key_id"]
        return self._boto_session().get_credentials().access_key

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        """Call the emulator's control endpoint; the region and account travel as a SigV4 scope
        would carry them, so the endpoint sees the same caller boto3 calls are made as."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.endpoint_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        token = self._control_token()
        if token is not None:
            request.add_header(control_token.HEADER, token)
        request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential={self.access_key()}/"
                                            f"20200101/{self.region}/ecs/aws4_request")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
        except urllib.error.HTTPError as error:
            raise CliError(self._refusal(method, path, error)) from None
        except urllib.error.URLError as error:
            raise CliError(unreachable(self.endpoint_url, error.reason)) from None
        except OSError as error:  # a timeout or a reset connection, after the request was sent
            raise CliError(
                f"{method} {path}: the emulator at {self.endpoint_url} did not answer ({error}); "
                "see its log, then run the command again") from None
        return json.loads(payload) if payload else {}

    def _refusal(self, method: str, path: str, error: urllib.error.HTTPError) -> str:
        """The line for an error answer. Whose it is, the Server header says (a JSON body does
        not: Flask's own 404/405/413 pages and the connection layer's 400/408/431 are text)."""
        body = error.read()
        if not from_the_emulator(error.headers.get("Server")):
            return not_the_emulator(self.endpoint_url, error.code)
        html = "html" in error.headers.get_content_type()
        if html and error.code in (404, 405):  # no such route: a command newer than the server
            return (f"the emulator has no {method} {path.split('?', 1)[0]} (HTTP {error.code}): "
                    "is the server older than this command line? (or is this the front doors' "
                    "port? `ecs-emulator serve` prints the API's)")
        return f"{method} {path}: HTTP {error.code}: {_message(body, html) or error.reason}"

    def _control_token(self) -> str | None:
        """The token the emulator on this host's port wrote (access/control_token.py)."""
        parts = urllib.parse.urlsplit(self.endpoint_url)
        if (parts.hostname or "") not in _THIS_HOST:
            return None
        return control_token.read_token(parts.port or 80)


def unreachable(endpoint: str, reason) -> str:
    return (f"cannot reach the emulator at {endpoint} ({reason}); start it with "
            "`ecs-emulator serve` or point --endpoint-url / AWS_ENDPOINT_URL at it")


def client_error_line(endpoint: str, error) -> str:
    """The line for an AWS call's ClientError. botocore names an error body it could not read as
    AWS's (no JSON `__type`: another server's page, or the emulator's plain text or Flask page)
    by its HTTP status alone, with the whole body for its message."""
    code = error.response.get("Error", {}).get("Code", "")
    if not code.isdigit():
        return str(error)
    headers = error.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    if not from_the_emulator(headers.get("server")):
        return not_the_emulator(endpoint, code)
    body = error.response["Error"].get("Message", "").encode()
    message = _message(body, "html" in headers.get("content-type", ""))
    return f"{error.operation_name}: HTTP {code}: {message or 'no message'}"


def from_the_emulator(server_header: str | None) -> bool:
    """Whether an answer is the emulator's: every one carries `Server: ecs-emulator` (its API
    port's and its front doors', server.py and front_doors.py), another server's does not."""
    return server_header == SERVER_NAME


def not_the_emulator(endpoint: str, status) -> str:
    """A server on the endpoint answered, but not the emulator (an HTML error page of another
    server; the front doors' port answers API calls with theirs): one line that says so."""
    return (f"the server at {endpoint} answered HTTP {status} and is not the emulator: is it "
            "the emulator's port? (`ecs-emulator serve` prints its address; the front doors' "
            "port is another)")


def _message(payload: bytes, html: bool = False) -> str | None:
    """The message of an error body of the emulator's: a JSON body's `message`, a text one's
    text, an HTML page's paragraph (Flask's); None where there is none."""
    text = payload.decode(errors="replace").strip()
    if html:
        found = re.search(r"<p>(.*?)</p>", text, re.DOTALL)
        return unescape(found.group(1)).strip() if found else None
    try:
        body = json.loads(text)
    except ValueError:
        return text or None
    if isinstance(body, dict):
        return str(body.get("message") or body.get("Message") or body.get("error") or body)
    return str(body)

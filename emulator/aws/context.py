"""Who is calling, and where: account and region from the request's SigV4 credential scope.

A client on localhost puts no region in the host name, so the credential scope is the only
reliable source. A 12-digit access key id is taken as the account; a key IAM or STS issued (a
user's, a task role's) is its issuer's account; any other key maps to the default account, as
moto does, so ARNs agree across services.
"""

from __future__ import annotations

import io
import itertools
import os
import random
import re
import sys
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from emulator.config import Settings

_ISSUED_PREFIXES = ("ASIA", "AKIA")  # the key ids IAM (AKIA) and STS (ASIA) hand out
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
_QUERY_CREDENTIAL = re.compile(r"X-Amz-Credential=([^%/&]+)(?:%2F|/)\d{8}(?:%2F|/)([^%/&]+)")
# Signature version 2, which S3 presigned URLs still use by default: a key, but no region.
_V2_HEADER = re.compile(r"^AWS ([^:\s]+):")
_V2_QUERY = re.compile(r"(?:^|&)AWSAccessKeyId=([^&]+)")
_MAX_FORM = 1024 * 1024  # query-protocol bodies are small; never buffer a registry upload
_FORM_PARAMS = "ecs_emulator.form_params"  # environ key: form_params(), kept for the request


def new_request_id() -> str:
    """A version 4 UUID in form, as AWS's request ids are: a random part drawn once per process
    and a counter in the last 12 digits, so ids never repeat within a process (2**48 of them)
    and differ between processes. An id needs no secrecy; drawing 128 random bits and
    formatting them for every request cost more than the rest of making a request's context
    (and os.urandom's getrandom(2) would be one more place per request where a worker lets go
    of the GIL and waits to get it back behind the others: scripts/bench/capacity.py)."""
    return f"{_id_prefix}{next(_id_counter) & 0xffffffffffff:012x}"


def _new_id_series() -> None:
    """A fresh random part and counter (at import, and in a forked child, which would otherwise
    repeat its parent's ids)."""
    global _id_prefix, _id_counter
    # The first 20 hex digits of a version 4 UUID: version 4, and the variant's bits 10xx.
    number = (random.getrandbits(80) & ~((0xf << 28) | (0xc << 12))) | (0x4 << 28) | (0x8 << 12)
    text = f"{number:020x}"
    _id_prefix = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
    _id_counter = itertools.count(random.getrandbits(48))  # next() is atomic under the GIL


_id_prefix = ""
_id_counter = itertools.count()
_new_id_series()
os.register_at_fork(after_in_child=_new_id_series)


@dataclass(frozen=True, init=False)
class RequestContext:
    """Who an AWS call is from and where it goes: account, region and key from its signature."""
    account: str
    region: str
    access_key: str = ""
    host: str = ""  # the Host header: where the client reached us (ECR builds URIs from it)
    request_id: str = field(default_factory=new_request_id)

    def __init__(self, account: str, region: str, access_key: str = "", host: str = "",
                 request_id: str | None = None):
        # The generated __init__ of a frozen dataclass sets each field through
        # object.__setattr__, a call each: a third of the CPU of making a context, which every
        # call makes. Still frozen: assigning to a field afterwards raises as before.
        self.__dict__.update(account=account, region=region, access_key=access_key, host=host,
                             request_id=new_request_id() if request_id is None else request_id)

    @property
    def partition(self) -> str:
        return partition_of(self.region)


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def account_for_access_key(access_key: str, settings: Settings) -> str:
    if len(access_key) == 12 and access_key.isdigit():
        return access_key
    if access_key.startswith(_ISSUED_PREFIXES):
        return _issuing_account(access_key) or settings.default_account_id
    return settings.default_account_id


def _issuing_account(access_key: str) -> str | None:
    """The account whose IAM or STS (in moto) issued this key: a task role's credentials act in
    the role's account, as on AWS, not in the default one."""
    models = sys.modules.get("moto.iam.models")
    if models is None:  # moto not loaded yet: it has issued nothing
        return None
    # dict's own views: indexing moto's BackendDicts would create backends for what it names.
    for account_id, account in list(dict.items(models.iam_backends)):
        if any(access_key in backend.access_keys for backend in list(dict.values(account))):
            return account_id
    return None


def context_from_environ(environ: dict, settings: Settings) -> RequestContext:
    access_key, region = "", settings.default_region
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match is None:
        match = _QUERY_CREDENTIAL.search(environ.get("QUERY_STRING", ""))
    if match is not None:
        access_key, region = match.group(1), match.group(2)
    else:
        match = _V2_HEADER.search(environ.get("HTTP_AUTHORIZATION", "")) or _V2_QUERY.search(
            environ.get("QUERY_STRING", ""))
        if match is not None:
            access_key = match.group(1)
    return RequestContext(
        account=account_for_access_key(access_key, settings),
        region=region,
        access_key=access_key,
        host=environ.get("HTTP_HOST", ""),
    )


def signing_service(environ: dict) -> str:
    """The SigV4 signing name of a call (logs, ssm, elasticloadbalancing, ...), or ""."""
    match = _CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(3) if match else ""


def form_params(environ: dict, limit: int = _MAX_FORM) -> list[tuple[str, str]]:
    """A query-protocol call's parameters: its query string's, then its form body's (none from a
    body over `limit` bytes).

    The body is read once per request, however many look (persistence, the request log, the moto
    bridge): the parameters are kept in the environ, and wsgi.input becomes the bytes read, so
    the application still reads all of them."""
    cached = environ.get(_FORM_PARAMS)
    if cached is not None:
        return cached
    params = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:
            return params  # not kept: a caller with a larger limit reads it
        if length > 0:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
            params += parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    environ[_FORM_PARAMS] = params
    return params


def form_action(environ: dict) -> str:
    """A query-protocol call's Action, or ""."""
    return next((value for name, value in form_params(environ) if name == "Action"), "")

"""ECS_EMULATOR_ENFORCE_IAM: every AWS call checked against its caller's IAM policies, so a user
can test that a task role allows exactly what its application does.

Who the caller is comes from the SigV4 access key, as on AWS: an IAM user's key acts with the
user's policies (its own and its groups'), a key from STS (a task role's credentials) with the
role's. The signature is verified with the key's secret. The policies are moto's IAM, evaluated
by moto's evaluator (moto.iam.access_control: Allow, explicit Deny, wildcards and some
conditions; not permission boundaries, SCPs or resource policies).

A call from this host that is unsigned or signed with a key IAM does not know (the `test` keys of
every guide) acts as the account's root user and may do anything, as moto's INITIAL_NO_AUTH
count lets a test set up its users and roles first; a container's call must carry real
credentials.

- ECS and ECR calls: checked here, as `ecs:<Operation>` / `ecr:<Operation>` on the resource AWS
  names (a cluster, service, task definition or repository ARN; `*` for calls that name none),
  plus `iam:PassRole` on the roles RegisterTaskDefinition, RunTask and StartTask hand to ECS.
  Refusals answer AccessDeniedException (400, JSON), as those services do.
- CloudFormation stacks act with their caller's rights, or their service role's (RoleARN:
  cloudformation/stack_role.py): our ECS and ECR resource types' calls are checked as the
  caller's own, every resource moto's engine makes needs its create actions and every resource
  a stack deletes its delete actions (iam_stacks.py); a refused resource fails and the stack
  rolls back (a refused delete stays, DELETE_FAILED).
- moto's services: moto checks them itself (on `*`; S3 on the bucket and key), switched on for
  the calls of callers that must be checked; its refusals keep its shapes (AccessDenied 403 in
  XML for the query and REST services), except that JSON-protocol services get theirs in JSON
  (AccessDeniedException 400), which their SDKs can read. moto reads one process-wide setting
  for that (INITIAL_NO_AUTH_ACTION_COUNT); we replace it, once, with a value that asks this
  request's context, so other emulators in the process are not affected.
"""

from __future__ import annotations

import contextvars
import hmac
import html
import json
import re

from emulator.access import iam_resources
from emulator.aws.errors import AwsError

_CHECK_MOTO = contextvars.ContextVar("ecs_emulator_check_moto", default=False)


class UnrecognizedClientException(AwsError):
    """The access key is not one IAM or STS issued."""


class InvalidSignatureException(AwsError):
    """The signature does not match the key's secret."""


class MissingAuthenticationTokenException(AwsError):
    """The request is not signed."""


class IamEnforcement:
    def __init__(self, moto, denied: type[AwsError]):
        self._moto = moto  # emulator.aws.moto_bridge.MotoBridge: IAM and STS live there
        self._denied = denied  # the AccessDeniedException class to raise

    # -- ECS and ECR ------------------------------------------------------------------------

    def call_principal(self, environ: dict, ctx, caller, body: bytes):
        """Who a caller's own ECS or ECR call acts as, its signature verified with the key's
        secret; None for the account's root."""
        key = self._access_key(environ, ctx, caller)
        if key is not None:
            self._verify_signature(key, environ, body)
        return key

    def stack_principal(self, environ: dict, ctx, caller, role: str | None):
        """Who a call the emulator makes for a stack's caller acts as: the stack's service role
        (`role`), which CloudFormation assumes (the caller's own rights do not count then, as
        on AWS), else the caller (moto verified the signature of the caller's own call:
        CreateStack, UpdateStack...); None for the account's root."""
        if role is None:
            return self._access_key(environ, ctx, caller)
        return _ServiceRole(role, role_policies(self._moto, role) or [])

    def require_call(self, principal, service_name: str, operation: str, params: dict, ctx,
                     store_of=None) -> None:
        """Refuse the call unless `principal` (call_principal's or stack_principal's) may make
        it on every resource it names."""
        if principal is None:
            return  # root
        for action, resource in iam_resources.checks(service_name, operation, params, ctx,
                                                     store_of):
            self._require(principal, action, resource)

    def check_stack_resource(self, resource_type: str, properties, environ: dict, ctx,
                             caller, deleting=None, name: str | None = None,
                             role: str | None = None) -> None:
        """A resource a stack is about to make or update (or delete: `deleting`, the resource)
        for the stack's caller, or its service role (`role`); `name`: its name, when its type
        has a name property."""
        from emulator.access import iam_stacks

        key = self.stack_principal(environ, ctx, caller, role)
        if key is None:
            return  # root
        def existing(kind, name):
            return self._existing_arn(ctx, kind, name)

        if deleting is not None:
            needed = iam_stacks.delete_checks(resource_type, deleting, ctx, existing)
        else:
            needed = iam_stacks.checks(resource_type, properties, ctx, existing, name)
        if needed is None:
            raise self._denied(iam_stacks.unknown(resource_type))
        for action, resource in needed:
            self._require(key, action, resource)

    def pass_role_denial(self, role: str, environ: dict, ctx, caller) -> str | None:
        """Why the caller may not hand `role` to a service (iam:PassRole), in AWS's words."""
        key = self._access_key(environ, ctx, caller)
        if key is None:
            return None  # root
        return denial(key.collect_policies(), key.arn, "iam:PassRole", role)

    def assumable_by(self, role: str, service: str, account: str) -> bool:
        """Whether `service` may assume `role` for `account`: a role of that account only (as
        CloudFormation assumes a service role of its caller's account only) that trusts it."""
        return _arn_account(role) == account and trusts_service(self._moto, role, service)

    def _existing_arn(self, ctx, kind: str, name: str) -> str | None:
        """The ARN (with its path) of the account's IAM user, role or group of that name."""
        backend = self._moto.backend("iam", ctx.account, ctx.partition)
        try:
            return getattr(backend, f"get_{kind}")(name).arn
        except Exception:  # noqa: BLE001 - moto's NoSuchEntity: none of that name yet
            return None

    def _access_key(self, environ: dict, ctx, caller):
        """moto's view of the caller's key (it knows the policies), or None for root."""
        from_container = caller is not None and caller.from_container
        if not environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4-HMAC-SHA256"):
            if from_container:
                raise MissingAuthenticationTokenException("Missing Authentication Token")
            return None
        from moto.iam.access_control import CreateAccessKeyFailure, create_access_key

        self._moto.backend("iam", ctx.account, ctx.partition)  # moto loaded
        try:
            # ctx.account is the key's issuer's (aws/context.py), as moto looks the key up there.
            return create_access_key(account_id=ctx.account, partition=ctx.partition,
                                     access_key_id=ctx.access_key, headers=_Headers(environ))
        except CreateAccessKeyFailure as failure:
            if from_container or failure.reason != "InvalidId":  # a known key, a wrong token
                raise UnrecognizedClientException(
                    "The security token included in the request is invalid.") from None
            return None

    def _verify_signature(self, key, environ: dict, body: bytes) -> None:
        """SigV4 computed again with the key's secret, over the headers the client signed."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = _Headers(environ)
        authorization = headers.get("Authorization", "")
        try:
            scope = _between(authorization, "Credential=", ",").split("/")
            signed = _between(authorization, "SignedHeaders=", ",").split(";")
            given = _between(authorization, "Signature=", ",")
            path = environ.get("PATH_INFO", "/")
            if environ.get("QUERY_STRING"):
                path += "?" + environ["QUERY_STRING"]
            request = AWSRequest(method=environ.get("REQUEST_METHOD", "POST"), url=path,
                                 data=body, headers={h: headers[h] for h in signed})
            request.context["timestamp"] = headers["X-Amz-Date"]
            auth = SigV4Auth(key.create_credentials(), scope[3], scope[2])
            expected = auth.signature(
                auth.string_to_sign(request, auth.canonical_request(request)), request)
        except (KeyError, IndexError):
            expected = None
        if expected is None or not hmac.compare_digest(expected, given):
            raise InvalidSignatureException(
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.")

    def _require(self, key, action: str, resource: str) -> None:
        refused = denial(key.collect_policies(), key.arn, action, resource)
        if refused is not None:
            raise self._denied(refused)

    # -- moto's services ----------------------------------------------------------------------

    def serve_moto(self, moto, environ: dict, start_response, ctx, caller):
        """moto's answer to the call, checked by moto when the caller must be."""
        from_container = caller is not None and caller.from_container
        check = from_container or self._known_key(ctx)
        if check and "HTTP_AUTHORIZATION" not in environ:
            check = False  # presigned or unsigned: moto cannot check it; root from this host
            if from_container:
                raise MissingAuthenticationTokenException("Missing Authentication Token")
        if not check:
            return moto(environ, start_response, ctx)
        _install_switch()
        token = _CHECK_MOTO.set(True)
        try:
            if environ.get("HTTP_X_AMZ_TARGET"):
                return _json_auth_errors(moto, environ, start_response, ctx)
            return moto(environ, start_response, ctx)  # moto's body is made within the call
        finally:
            _CHECK_MOTO.reset(token)

    def _known_key(self, ctx) -> bool:
        if not ctx.access_key:
            return False
        from moto.iam.models import iam_backends

        self._moto.backend("iam", ctx.account, ctx.partition)  # moto loaded
        return any(ctx.access_key in account[ctx.partition].access_keys
                   for account in list(iam_backends.values()))


def denial(policies, principal: str, action: str, resource: str) -> str | None:
    """Why these identity policies (moto's: documents or managed policies) do not let
    `principal` do `action` on `resource`, in AWS's words; None when they do."""
    from moto.iam.access_control import IAMPolicy, PermissionResult

    permitted = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return (f"User: {principal} is not authorized to perform: {action} on resource: "
                    f"{resource} with an explicit deny")
        permitted = permitted or result == PermissionResult.PERMITTED
    if permitted:
        return None
    return (f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            f"because no identity-based policy allows the {action} action")


def role_policies(moto, role_arn: str) -> list | None:
    """The identity policies of a role of moto's IAM (inline and attached); None when there is
    no such role."""
    role = _role(moto, role_arn)
    if role is None:
        return None
    return list(role.policies.values()) + list(role.managed_policies.values())


def trusts_service(moto, role_arn: str, service: str) -> bool:
    """Whether the role exists and its trust policy lets `service` (cloudformation.amazonaws.com)
    assume it: an Allow of sts:AssumeRole to that service principal (or to `*`). Conditions are
    not evaluated (moto's evaluator knows few)."""
    role = _role(moto, role_arn)
    if role is None:
        return False
    try:
        document = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        return False
    statements = document.get("Statement") if isinstance(document, dict) else None
    statements = statements if isinstance(statements, list) else [statements]
    return any(isinstance(statement, dict) and statement.get("Effect") == "Allow"
               and _listed(statement.get("Action"), ("sts:AssumeRole", "sts:*", "*"))
               and _names_service(statement.get("Principal"), service)
               for statement in statements)


def _listed(value, wanted: tuple[str, ...]) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and v.lower() in {w.lower() for w in wanted} for v in values)


def _names_service(principal, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    return _listed(principal.get("Service"), (service,)) or _listed(principal.get("AWS"), ("*",))


def _arn_parts(arn) -> list[str] | None:
    """An ARN's six parts (arn, partition, service, region, account, resource); None for what
    is no ARN."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return parts if len(parts) == 6 else None


def _arn_account(arn) -> str | None:
    parts = _arn_parts(arn)
    return parts[4] if parts is not None else None


def _role(moto, role_arn: str):
    """The role of moto's IAM with this ARN, or None."""
    parts = _arn_parts(role_arn)
    if parts is None or not parts[5].startswith("role/"):
        return None
    from moto.backends import get_backend

    if parts[4] not in dict.keys(get_backend("iam")):
        return None  # no IAM of that account yet: no role (asking would make a whole one)
    try:
        return moto.backend("iam", parts[4], parts[1]).get_role_by_arn(role_arn)
    except Exception:  # moto's NotFoundException
        return None


class _ServiceRole:
    """A stack's service role as the principal of its resources' checks: the role's policies,
    and the ARN of CloudFormation's session of it (AWS's refusals name that one)."""

    def __init__(self, role_arn: str, policies: list):
        parts = _arn_parts(role_arn)
        self.arn = (f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/"
                    f"{parts[5].rsplit('/', 1)[-1]}/AWSCloudFormation"
                    if parts is not None else role_arn)
        self._policies = policies

    def collect_policies(self) -> list:
        return self._policies


# moto answers its auth errors in the query protocol's XML, which an SDK speaking a JSON protocol
# cannot read (boto3 reports a code of "403"): those services' codes, in their JSON form.
_JSON_CODES = {"AccessDenied": "AccessDeniedException",
               "InvalidClientTokenId": "UnrecognizedClientException",
               "SignatureDoesNotMatch": "InvalidSignatureException"}
_XML_ERROR = re.compile(rb"<Code>([^<]+)</Code>\s*<Message>([^<]*)</Message>")


def _json_auth_errors(moto, environ: dict, start_response, ctx):
    answered = {}

    def keep(status, headers, exc_info=None):
        answered["status"], answered["headers"] = status, headers
        return lambda data: None  # moto returns its body; it never writes

    body = b"".join(moto(environ, keep, ctx))
    match = _XML_ERROR.search(body) if answered["status"].startswith("403") else None
    if match is None or match.group(1).decode() not in _JSON_CODES:
        start_response(answered["status"], answered["headers"])
        return [body]
    code = _JSON_CODES[match.group(1).decode()]
    payload = json.dumps({"__type": code,
                          "message": html.unescape(match.group(2).decode())}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                       ("Content-Length", str(len(payload))),
                                       ("X-Amzn-ErrorType", code)])
    return [payload]


class _PerRequest:
    """Stands for moto's INITIAL_NO_AUTH_ACTION_COUNT: moto checks IAM when its request count
    is at least this, so "at least" answers whether this request is to be checked."""

    def __le__(self, count) -> bool:  # moto writes `request_count >= INITIAL_NO_AUTH_...`
        return _CHECK_MOTO.get()

    def __ge__(self, count) -> bool:
        return not _CHECK_MOTO.get()

    def __repr__(self) -> str:
        return "per-request (ecs-emulator)"


def _install_switch() -> None:
    from moto import settings

    if settings.INITIAL_NO_AUTH_ACTION_COUNT == float("inf"):  # moto's default: never checks
        settings.INITIAL_NO_AUTH_ACTION_COUNT = _PerRequest()


class _Headers(dict):
    """The request's headers as moto's signature check reads them (case-insensitive)."""

    def __init__(self, environ: dict):
        from werkzeug.datastructures import EnvironHeaders

        super().__init__()
        self._headers = EnvironHeaders(environ)
        for name, value in self._headers.items():
            dict.__setitem__(self, name, value)

    def __getitem__(self, name):
        return self._headers[name]

    def __contains__(self, name) -> bool:
        return name in self._headers

    def get(self, name, default=None):
        return self._headers.get(name, default)


def _between(text: str, start: str, end: str) -> str:
    return text.partition(start)[2].partition(end)[0]


"""What a caller may do with the AWS APIs: the router asks here before it serves a call.

- A call from a container (access/callers.py) may not give containers access to the host
  (host_access.py), unless the operator allows it (ECS_EMULATOR_ALLOW_TASK_HOST_ACCESS).
- With ECS_EMULATOR_ENFORCE_IAM, every call is checked against its caller's IAM policies
  (iam.py), and so is every resource of a caller's CloudFormation stack (iam_stacks.py); calls
  from this host signed with keys IAM does not know act as the account's root.
Calls from this host otherwise keep every right. A launch that either check reads is served
naming the exact revision it was checked on (launch_pins.py).
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import partial

from emulator.access import launch_pins
from emulator.access.gate import caller_of
from emulator.aws.errors import AwsError
from emulator.config import Settings


class AccessDeniedException(AwsError):
    """AWS's answer to a call its caller may not make (ECS models it; ECR answers it too)."""


class ThrottlingException(AwsError):
    """AWS's common error for a call refused for now (not in ECS's model: SDKs raise a
    ClientError of this code, and retry it after a pause)."""


class Rights:
    def __init__(self, settings: Settings, moto):
        self._allow_host_access = settings.allow_task_host_access
        self.engine_view = None  # host_access.EngineView: the app factory sets it
        # None when IAM is not enforced (the default): nothing is asked of moto per call, and
        # nothing of IAM's is imported at start-up.
        self._iam = None
        if settings.enforce_iam:
            from emulator.access.iam import IamEnforcement

            self._iam = IamEnforcement(moto, AccessDeniedException)

    @property
    def enforces_iam(self) -> bool:
        return self._iam is not None

    def check_json(self, service, operation: str, body: bytes, environ: dict, ctx) -> bytes:
        """Raise the AwsError that refuses this ECS or ECR call, if any; else the body to serve:
        the call's own, or, for a launch that was checked, one that names the exact revision
        checked (launch_pins.py)."""
        caller = caller_of(environ)
        if self._iam is None and not self._host_access_checked(service, caller):
            return body
        principal = self._iam.call_principal(environ, ctx, caller, body) if self._iam else None
        pinned = self._check(service, operation, _params(body), ctx, caller, principal)
        return body if pinned is None else json.dumps(pinned).encode()

    def check_on_behalf(self, service, operation: str, params: dict, environ: dict,
                        ctx, role: str | None = None) -> dict:
        """The rules for a call the emulator makes for a caller (the resources of the caller's
        CloudFormation stack), as for the caller's own calls: IAM too, as a stack acts with
        its caller's rights on AWS, or with its service role's (`role`). Returns the params to
        call with (pinned, as check_json's body)."""
        caller = caller_of(environ)
        if self._iam is None and not self._host_access_checked(service, caller):
            return params
        principal = (self._iam.stack_principal(environ, ctx, caller, role) if self._iam
                     else None)
        return self._check(service, operation, params, ctx, caller, principal) or params

    def _check(self, service, operation: str, params: dict | None, ctx, caller,
               principal) -> dict | None:
        """The rules both kinds of call share: IAM's (for `principal`), and the launch's pin,
        under the state lock the task definitions a call names are read with; then host
        access. `params` is None for a body that is no JSON object (IAM then reads no member,
        and nothing is pinned or refused for the host). Returns the params pinned, or None."""
        with service.state.lock:
            store_of = partial(service.state.store_for, ctx.account, ctx.region)
            if self._iam is not None:
                self._iam.require_call(principal, service.name, operation, params or {}, ctx,
                                       store_of)
            pinned = (launch_pins.pin(operation, params, store_of())
                      if params and service.name == "ecs" and launch_pins.launches(operation)
                      else None)
        if params is not None and self._host_access_checked(service, caller):
            self._refuse_host_access(service, operation, pinned or params, ctx, caller)
        return pinned

    def check_stack_resource(self, resource_type: str, properties, environ: dict, ctx,
                             deleting=None, name: str | None = None,
                             role: str | None = None) -> None:
        """Under IAM enforcement, refuse a resource a stack would make (`name`: its name, given
        or made up) or delete (`deleting`) for a caller (or the stack's service role: `role`)
        whose policies do not allow it (iam_stacks.py)."""
        if self._iam is not None:
            self._iam.check_stack_resource(resource_type, properties, environ, ctx,
                                           caller_of(environ), deleting, name, role)

    def stack_role_refusal(self, role: str, passed: bool, environ: dict,
                           ctx) -> tuple[str, str] | None:
        """Under IAM enforcement, (error code, message) refusing a stack operation that acts
        with the service role `role`: its caller may not pass it (`passed`: the call names it;
        a role the stack has already needs no iam:PassRole of later callers, as on AWS), or
        CloudFormation cannot assume it (another account's, or one that does not trust it).
        None when it may go ahead."""
        if self._iam is None:
            return None
        if passed:
            refused = self._iam.pass_role_denial(role, environ, ctx, caller_of(environ))
            if refused is not None:
                return "AccessDenied", refused
        if not self._iam.assumable_by(role, "cloudformation.amazonaws.com", ctx.account):
            return "ValidationError", f"Role {role} is invalid or cannot be assumed"
        return None

    def _host_access_checked(self, service, caller) -> bool:
        # ECR holds nothing that reaches the host; this host's own calls may do anything.
        return (caller is not None and caller.from_container and not self._allow_host_access
                and service.name == "ecs")

    def _refuse_host_access(self, service, operation: str, params: dict, ctx, caller) -> None:
        from emulator.access import host_access  # only containers' calls: not at start-up
        from emulator.engine.task_images import Throttled

        with service.state.lock:
            spec = host_access.subject(operation, params,
                                       service.state.store_for(ctx.account, ctx.region))
        if spec is None:
            return
        view = self.engine_view
        if view is not None:  # one image check in flight per task (engine/task_images.py)
            who = caller.task_arn or caller.address
            view = replace(view, unserved_image=partial(view.unserved_image, caller=who),
                           resolve=view.resolve and partial(view.resolve, caller=who))
        try:
            reason = host_access.refusal(operation, spec, view, ctx.account)  # Docker: no lock
        except Throttled as error:
            raise ThrottlingException(str(error)) from None
        if reason is not None:
            raise AccessDeniedException(reason)

    def serve_moto(self, moto, environ: dict, start_response, ctx):
        """moto's answer to a call of a service it serves (moto checks IAM when asked to)."""
        if self._iam is None:
            return moto(environ, start_response, ctx)
        return self._iam.serve_moto(moto, environ, start_response, ctx, caller_of(environ))


def _params(body: bytes) -> dict | None:
    try:
        decoded = json.loads(body) if body.strip() else {}
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return decoded if isinstance(decoded, dict) else None

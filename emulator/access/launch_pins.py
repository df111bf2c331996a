"""The exact revision a launching ECS call names, fixed before the call is checked.

A launch may name a task definition by its family alone (its latest ACTIVE revision), and the
checks (IAM's resource, host_access.py's refusal, which asks Docker with no lock held) and the
handler each take the state lock on their own: in between, a deregistration (or a registration)
can change what the family means, and the handler would launch a revision nobody checked (a
task's RunTask of `app` passing on its own harmless `app:2`, then running the operator's
privileged `app:1`). So the checks pin the reference, under the lock they read it with, to the
revision ARN they check, and the handler is given that: revisions are never reused
(ecs/store.py), so it cannot mean another. A reference that names nothing then is pinned to
revision 0, which no registration makes, so the handler finds nothing as the check did, with the
same "not found" answer; one that can never be found (malformed, another account's ARN) is
left as it is.
"""

from __future__ import annotations

from emulator.aws.errors import AwsError
from emulator.ecs import daemon_task_definitions, task_definitions

# operation -> the member naming the definition it launches (host_access.py's LAUNCHES,
# EXPRESS_LAUNCHES and DAEMON_LAUNCHES), and whether it names a daemon task definition.
_MEMBERS = {
    "RunTask": ("taskDefinition", False),
    "StartTask": ("taskDefinition", False),
    "CreateService": ("taskDefinition", False),
    "UpdateService": ("taskDefinition", False),
    "CreateTaskSet": ("taskDefinition", False),
    "CreateExpressGatewayService": ("taskDefinitionArn", False),
    "UpdateExpressGatewayService": ("taskDefinitionArn", False),
    "CreateDaemon": ("daemonTaskDefinitionArn", True),
    "UpdateDaemon": ("daemonTaskDefinitionArn", True),
}
NEVER_REGISTERED = 0  # revisions start at 1


def launches(operation: str) -> bool:
    return operation in _MEMBERS


def pin(operation: str, params: dict, store) -> dict | None:
    """`params` with the definition it launches named by its exact revision (call with the state
    lock held); None when there is nothing to pin (not a launch, no reference, or one that
    already names exactly what it would be pinned to)."""
    member, daemon = _MEMBERS.get(operation, (None, False))
    ref = params.get(member) if member else None
    if not isinstance(ref, str):
        return None
    exact = _exact(store, ref, daemon_task_definitions if daemon else task_definitions)
    if exact is None or exact == ref:
        return None
    return {**params, member: exact}


def _exact(store, ref: str, kind) -> str | None:
    """The revision ARN `ref` means now (kind: task_definitions or daemon_task_definitions)."""
    try:
        parsed = kind.parse_reference(store, ref)
    except AwsError:  # another region's ARN: nothing to pin; the handler refuses it
        return None
    if parsed is None:
        return None  # never found, whatever is registered
    definition = kind.resolve(store, ref)
    return definition.arn if definition is not None else f"{parsed[0]}:{NEVER_REGISTERED}"

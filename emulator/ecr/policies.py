"""Repository and registry permission policies: checked for the grammar of an IAM resource policy
and stored. The emulator does not enforce them (every caller may do everything), and says so in
the README; what it checks is what ECR refuses at Set/Put time."""

from __future__ import annotations

import json

from emulator.ecr.errors import InvalidParameterException

_EFFECTS = ("Allow", "Deny")


def check_repository_policy(text: str) -> str:
    _check(text, "PolicyText", "Invalid repository policy provided")
    return text


def check_registry_policy(text: str) -> str:
    statements = _check(text, "PolicyText", "Invalid registry policy provided")
    for statement in statements:
        for action in _as_list(statement.get("Action", [])):
            if not isinstance(action, str) or not action.lower().startswith("ecr:"):
                raise _invalid("PolicyText", "Invalid registry policy provided: only ecr: actions "
                               f"are allowed, got {action!r}")
    return text


def _check(text: str, field: str, problem: str) -> list[dict]:
    try:
        document = json.loads(text)
    except ValueError:
        raise _invalid(field, f"{problem}: the policy is not valid JSON") from None
    if not isinstance(document, dict):
        raise _invalid(field, f"{problem}: the policy must be a JSON object")
    statements = _as_list(document.get("Statement"))
    if not statements:
        raise _invalid(field, f"{problem}: the policy has no Statement")
    for statement in statements:
        if not isinstance(statement, dict):
            raise _invalid(field, f"{problem}: a Statement must be an object")
        if statement.get("Effect") not in _EFFECTS:
            raise _invalid(field, f"{problem}: Effect must be Allow or Deny")
        if "Principal" not in statement and "NotPrincipal" not in statement:
            raise _invalid(field, f"{problem}: a statement of a resource policy needs a Principal")
        if "Action" not in statement and "NotAction" not in statement:
            raise _invalid(field, f"{problem}: a statement needs an Action")
    return statements


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _invalid(field: str, message: str) -> InvalidParameterException:
    return InvalidParameterException(
        f"Invalid parameter at '{field}' failed to satisfy constraint: '{message}'"
    )

"""Repository and registry permission policies: checked for the grammar of an IAM resource policy
and stored, as ECR refuses at Set/Put time; and a repository policy's grant of registry access
to another account (`allows`), which the registry asks before another account's token may pull
or push (ECR's cross-account access)."""

from __future__ import annotations

import fnmatch
import json
import re

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


_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")


def allows(policy_text: str | None, account: str, actions: tuple[str, ...],
           resource: str | None = None) -> bool:
    """Whether the policy lets principals of `account` do any of `actions` (on `resource`,
    where given: a statement whose Resource or NotResource does not cover it does not count): an
    Allow statement names the account (its id, its root, any of its users or roles: a registry
    token carries only the account) or "*", and no Deny statement matches. Conditions are not
    evaluated, so read to refuse: an Allow with a Condition grants nothing (a Principal "*"
    limited by aws:PrincipalOrgID is no grant to any account), a Deny with one denies, and so
    does a Deny whose NotPrincipal leaves the account out. Any resource policy of this shape
    reads so (Secrets Manager's, S3's)."""
    return decision(policy_text, account, actions, resource) is True


def decision(policy_text: str | None, account: str, actions: tuple[str, ...],
             resource: str | None = None) -> bool | None:
    """What the policy says of `account` doing any of `actions`, read as `allows` reads it: True
    (allowed), False (an explicit Deny, which wins over any other policy's Allow), or None
    (nothing said)."""
    if not policy_text:
        return None
    try:
        statements = _as_list(json.loads(policy_text).get("Statement"))
    except (ValueError, AttributeError):
        return None
    allowed = None
    for statement in statements:
        if not isinstance(statement, dict):
            continue
        deny = statement.get("Effect") == "Deny"
        if deny and "NotPrincipal" in statement:
            if _leaves_out(statement["NotPrincipal"], account):
                continue
        elif not _names(statement, account):
            continue
        if resource is not None and not _covers(statement, resource):
            continue
        matched = any(_acts(statement, action) for action in actions)
        if matched and deny:
            return False
        if matched and statement.get("Effect") == "Allow" and not statement.get("Condition"):
            allowed = True
    return allowed


def denial(principal: str, action: str, resource: str) -> str:
    """AWS's words for a call on another account's resource that its resource policy does not
    allow (`allows` said no)."""
    return (f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
            f"because no resource-based policy allows the {action} action")


def _leaves_out(not_principal, account: str) -> bool:
    """Whether a Deny's NotPrincipal leaves out the whole account (its id or its root): one of
    its users or roles left out is not the account, which is all a token carries."""
    values = _as_list(not_principal.get("AWS")) if isinstance(not_principal, dict) else []
    return any(isinstance(v, str) and (v == account or re.fullmatch(
        rf"arn:aws[a-z-]*:iam::{account}:root", v)) for v in values)


def _names(statement: dict, account: str) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for value in _as_list(principal.get("AWS")):
        if not isinstance(value, str):
            continue
        match = _ACCOUNT_IN_ARN.match(value)
        if value in ("*", account) or (match is not None and match.group(1) == account):
            return True
    return False


def _acts(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(isinstance(p, str) and fnmatch.fnmatchcase(action.lower(), p.lower())
                   for p in _as_list(statement["Action"]))
    return not any(isinstance(p, str) and fnmatch.fnmatchcase(action.lower(), p.lower())
                   for p in _as_list(statement.get("NotAction")))


def _covers(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not any(isinstance(p, str) and fnmatch.fnmatchcase(resource, p)
                       for p in _as_list(statement["NotResource"]))
    patterns = _as_list(statement.get("Resource", "*"))
    return any(isinstance(p, str) and fnmatch.fnmatchcase(resource, p) for p in patterns)


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _invalid(field: str, message: str) -> InvalidParameterException:
    return InvalidParameterException(
        f"Invalid parameter at '{field}' failed to satisfy constraint: '{message}'"
    )

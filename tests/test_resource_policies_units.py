"""Another account's grant in a resource policy (ecr/policies.allows), read to refuse what the
emulator cannot evaluate: Conditions, NotPrincipal."""

from __future__ import annotations

import json

from emulator.ecr.policies import allows, decision

ME, THEM = "111122223333", "444455556666"
PULL = ("ecr:BatchGetImage",)


def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def grant(**extra) -> dict:
    return {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage", **extra}


def test_an_allow_with_a_condition_grants_no_other_account():
    """Principal "*" for one organization's accounts is not a grant to every account."""
    assert allows(policy(grant()), ME, PULL)
    assert not allows(policy(grant(Condition={"StringEquals": {
        "aws:PrincipalOrgID": "o-abc"}})), ME, PULL)


def test_a_deny_with_not_principal_denies_every_account_it_does_not_leave_out():
    deny = {"Effect": "Deny", "Action": "ecr:*", "NotPrincipal": {"AWS": [
        f"arn:aws:iam::{THEM}:root", f"arn:aws:iam::{ME}:role/one-role"]}}
    assert not allows(policy(grant(), deny), ME, PULL)
    assert allows(policy(grant(), deny), THEM, PULL)
    # A Deny with a condition: not evaluated, so it denies.
    assert not allows(policy(grant(), {"Effect": "Deny", "Principal": "*", "Action": "ecr:*",
                                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                      ME, PULL)


def test_decision_tells_a_deny_from_silence():
    # cross_account.grants combines two policies: a Deny in one wins over the other's Allow,
    # while a policy that says nothing leaves the other's Allow standing.
    deny = {"Effect": "Deny", "Principal": {"AWS": ME}, "Action": "ecr:BatchGetImage"}
    assert decision(None, ME, PULL) is None
    assert decision(policy(grant(Action="ecr:PutImage")), ME, PULL) is None
    assert decision(policy(grant()), ME, PULL) is True
    assert decision(policy(grant(), deny), ME, PULL) is False
    assert decision(policy(grant(), deny), THEM, PULL) is True

"""ECS account settings: each setting's valid values and AWS's default, and the three levels a
value can come from.

A principal's own setting wins; else the account's default (what the root user set, with
PutAccountSetting on the root ARN or with PutAccountSettingDefault: they are the same thing on
ECS); else AWS's default. The caller is taken to be the account's root user, since the emulator
does not model IAM identities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from api_shapes import load_service
from emulator.aws.context import RequestContext
from emulator.ecs import arns
from emulator.ecs.errors import InvalidParameterException
from emulator.ecs.store import EcsStore

_ON_OFF = ("enabled", "disabled")


@dataclass(frozen=True)
class SettingSpec:
    """What one account setting may be set to, and its default."""
    values: tuple[str, ...]
    default: str  # AWS's default for an account that set nothing
    aws_managed: bool = False  # read-only: AWS sets it on the customer's behalf
    root_only: bool = False  # can only be set for the whole account

    @property
    def type(self) -> str:
        return "aws_managed" if self.aws_managed else "user"


# Every name of botocore's SettingName enum, with dualStackIPv6, which ECS accepts and the model's
# documentation lists but its enum lacks (api_shapes/amendments.py; a test keeps the two in step).
# The defaults are those of a new account today: long ARNs on, tagging authorization on, a 7-day
# Fargate retirement wait, non-blocking log delivery since ECS changed it on 25 June 2025, and
# IPv6 for awsvpc tasks off until opted in to.
SPECS: dict[str, SettingSpec] = {
    "serviceLongArnFormat": SettingSpec(_ON_OFF, "enabled"),
    "taskLongArnFormat": SettingSpec(_ON_OFF, "enabled"),
    "containerInstanceLongArnFormat": SettingSpec(_ON_OFF, "enabled"),
    "awsvpcTrunking": SettingSpec(_ON_OFF, "disabled"),
    "containerInsights": SettingSpec(("enabled", "disabled", "enhanced"), "disabled"),
    "fargateFIPSMode": SettingSpec(_ON_OFF, "disabled"),
    "tagResourceAuthorization": SettingSpec(("on", "off"), "on"),
    "fargateTaskRetirementWaitPeriod": SettingSpec(("0", "7", "14"), "7", root_only=True),
    "guardDutyActivate": SettingSpec(("on", "off"), "off", aws_managed=True),
    "defaultLogDriverMode": SettingSpec(("blocking", "non-blocking"), "non-blocking"),
    "fargateEventWindows": SettingSpec(_ON_OFF, "disabled"),
    "dualStackIPv6": SettingSpec(_ON_OFF, "disabled"),
}

_PRINCIPAL = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):(root|user/.+|role/.+)$")


@dataclass(frozen=True)
class Setting:
    """An account setting's value for one principal."""
    name: str
    value: str
    principal_arn: str

    @property
    def type(self) -> str:
        return SPECS[self.name].type


def model_setting_names() -> list[str]:
    return list(load_service("ecs").shapes["SettingName"]["enum"])


def spec_of(name: str) -> SettingSpec:
    spec = SPECS.get(name)
    if spec is None:  # a name a newer botocore knows and this table does not yet
        raise InvalidParameterException(f"The account setting {name} is not supported here.")
    return spec


def principal_of(ctx: RequestContext, principal_arn: str | None) -> str:
    """The principal a call is about: the one named, or the caller (the root user)."""
    root = arns.principal_root(ctx)
    if principal_arn is None or principal_arn == root:
        return root
    match = _PRINCIPAL.match(principal_arn)
    if match is None:
        raise InvalidParameterException(
            f"principalArn {principal_arn} is not the ARN of an IAM user, role or root user."
        )
    if match.group(2) != ctx.account:
        raise InvalidParameterException(
            f"principalArn {principal_arn} belongs to another account than {ctx.account}."
        )
    return principal_arn


# -- reading ------------------------------------------------------------------------------------


def explicit(store: EcsStore, ctx: RequestContext, name: str, principal: str) -> str | None:
    """The value set for exactly this principal (for root: the account default), if any."""
    if principal == arns.principal_root(ctx):
        return store.account_setting_defaults.get(name)
    return store.account_settings.get((principal, name))


def effective(store: EcsStore, ctx: RequestContext, name: str,
              principal: str | None = None) -> Setting:
    """The value that applies to `principal` (default: the caller), and whose it is."""
    root = arns.principal_root(ctx)
    principal = principal or root
    own = explicit(store, ctx, name, principal)
    if own is not None:
        return Setting(name, own, principal)
    account = store.account_setting_defaults.get(name)
    return Setting(name, account if account is not None else spec_of(name).default, root)


def listed(store: EcsStore, ctx: RequestContext, *, name: str | None = None,
           value: str | None = None, principal_arn: str | None = None,
           effective_settings: bool = False) -> list[Setting]:
    """ListAccountSettings, before paging: sorted by name."""
    if value is not None and name is None:
        raise InvalidParameterException("value can only be used together with name.")
    principal = principal_of(ctx, principal_arn)
    names = [name] if name else [n for n in model_setting_names() if n in SPECS]
    found = []
    for setting_name in sorted(names):
        if effective_settings:
            setting = effective(store, ctx, setting_name, principal)
        else:
            own = explicit(store, ctx, setting_name, principal)
            setting = Setting(setting_name, own, principal) if own is not None else None
        if setting is not None and (value is None or setting.value == value):
            found.append(setting)
    return found


# -- writing ------------------------------------------------------------------------------------


def put(store: EcsStore, ctx: RequestContext, name: str, value: str,
        principal_arn: str | None = None) -> Setting:
    """PutAccountSetting (and, with the root principal, PutAccountSettingDefault)."""
    spec = _writable(name)
    principal = principal_of(ctx, principal_arn)
    if value not in spec.values:
        raise InvalidParameterException(
            f"Invalid value {value!r} for {name}; valid values are {', '.join(spec.values)}."
        )
    root = arns.principal_root(ctx)
    if spec.root_only and principal != root:
        raise InvalidParameterException(
            f"{name} can only be set for the whole account, with the root user's ARN."
        )
    if principal == root:
        store.account_setting_defaults[name] = value
    else:
        store.account_settings[(principal, name)] = value
    return Setting(name, value, principal)


def delete(store: EcsStore, ctx: RequestContext, name: str,
           principal_arn: str | None = None) -> Setting:
    """DeleteAccountSetting: drop the principal's own value. Answers the value removed, or, if
    there was none, the value that applies."""
    _writable(name)
    principal = principal_of(ctx, principal_arn)
    if principal == arns.principal_root(ctx):
        removed = store.account_setting_defaults.pop(name, None)
    else:
        removed = store.account_settings.pop((principal, name), None)
    if removed is not None:
        return Setting(name, removed, principal)
    return effective(store, ctx, name, principal)


def _writable(name: str) -> SettingSpec:
    spec = spec_of(name)
    if spec.aws_managed:
        raise InvalidParameterException(
            f"{name} is managed by AWS on your behalf and cannot be changed."
        )
    return spec

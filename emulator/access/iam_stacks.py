"""Which IAM actions a CloudFormation stack's caller needs for each resource the stack makes,
changes or deletes (the tables are iam_stack_actions.py).

On AWS a stack without a service role acts with its caller's credentials (with one, with the
role's: the same checks, against the role's policies; cloudformation/stack_role.py): making an
IAM user needs iam:CreateUser as much as calling CreateUser does, deleting a log group
logs:DeleteLogGroup. moto's stack engine makes and deletes resources directly, with no check,
so under ECS_EMULATOR_ENFORCE_IAM cloudformation:CreateStack alone would be IAM admin. Each
resource is checked against the stack caller's policies before it is made (or updated) with
its type's create actions, plus iam:PassRole on every role it hands to a service, and before it
is deleted with its type's delete actions. The actions are asked on the resource's ARN: IAM
resources on the users, roles, groups and policies they make or act on, the other types on the
ARN of their name (the template's, or the one the stack makes up, known before the resource is
made) where iam_stack_actions.ARNS has their form, else on `*`. A type with no create actions
is refused: a stack must not make what no check covers.

The emulator's own ECS and ECR types are made through the ECS and ECR APIs, which check each
call as its caller's own (iam_resources.py); their deletes are in the tables too, so that an
update's removals can be checked before the update changes anything.
"""

from __future__ import annotations

import re
import secrets

from emulator.access.iam_stack_actions import CREATE, DELETE, NOTHING, arn_of

# A value a stack update's check cannot know before the update runs (it refers to a resource
# the update makes): what it names is checked when the resource is made
# (cloudformation/update_rights.py). Made fresh by each process and never shown, so that no
# template can spell it: a name holding it would otherwise skip its checks.
UNKNOWN = f"\x00unknown-{secrets.token_hex(16)}"

# IAM properties that grant more than the resource itself: property -> action on the resource.
_IAM_EXTRA = {
    "AWS::IAM::User": {"Policies": "iam:PutUserPolicy", "ManagedPolicyArns":
                       "iam:AttachUserPolicy", "LoginProfile": "iam:CreateLoginProfile",
                       "PermissionsBoundary": "iam:PutUserPermissionsBoundary"},
    "AWS::IAM::Role": {"Policies": "iam:PutRolePolicy", "ManagedPolicyArns":
                       "iam:AttachRolePolicy",
                       "PermissionsBoundary": "iam:PutRolePermissionsBoundary"},
    "AWS::IAM::Group": {"Policies": "iam:PutGroupPolicy",
                        "ManagedPolicyArns": "iam:AttachGroupPolicy"},
    "AWS::IAM::InstanceProfile": {"Roles": "iam:AddRoleToInstanceProfile"},
}

# IAM types: the resource their create acts on (kind of ARN, name property).
_IAM_SELF = {"AWS::IAM::User": ("user", "UserName"), "AWS::IAM::Role": ("role", "RoleName"),
             "AWS::IAM::Group": ("group", "GroupName"),
             "AWS::IAM::ManagedPolicy": ("policy", "ManagedPolicyName"),
             "AWS::IAM::InstanceProfile": ("instance-profile", "InstanceProfileName"),
             "AWS::IAM::AccessKey": ("user", "UserName"),
             "AWS::IAM::UserToGroupAddition": ("group", "GroupName")}

# IAM types whose name property is their own: a name the stack makes up stands for it.
_IAM_NAMED = frozenset({"AWS::IAM::User", "AWS::IAM::Role", "AWS::IAM::Group",
                        "AWS::IAM::ManagedPolicy", "AWS::IAM::InstanceProfile"})

def own_name_property(resource_type: str) -> str | None:
    """The property that names an IAM type's own resource (moto knows none for some: a group,
    a managed policy), or None."""
    return _IAM_SELF[resource_type][1] if resource_type in _IAM_NAMED else None


# IAM properties naming other IAM resources the resource acts on: property -> (kind, action),
# as AWS authorizes the action on the named one (AddUserToGroup on the group, PutUserPolicy on
# the user...).
_IAM_OTHERS = {
    "AWS::IAM::User": {"Groups": ("group", "iam:AddUserToGroup")},
    "AWS::IAM::Policy": {"Users": ("user", "iam:PutUserPolicy"),
                         "Roles": ("role", "iam:PutRolePolicy"),
                         "Groups": ("group", "iam:PutGroupPolicy")},
    "AWS::IAM::ManagedPolicy": {"Users": ("user", "iam:AttachUserPolicy"),
                                "Roles": ("role", "iam:AttachRolePolicy"),
                                "Groups": ("group", "iam:AttachGroupPolicy")},
}

# A property that hands a role to a service (Lambda's Role, a state machine's RoleArn, an
# event target's RoleArn, a flow log's DeliverLogsPermissionArn, ...): iam:PassRole on it.
_ROLE_KEY = re.compile(r"(?i)(role(arn)?|iamfleetrole|deliverlogspermissionarn)$")


def unknown(resource_type: str) -> str:
    return (f"The resource type {resource_type} has no IAM actions known to this emulator, so "
            "its caller's rights cannot be checked: refused while ECS_EMULATOR_ENFORCE_IAM is "
            "set (manage it without the stack, or without enforcement).")


def checks(resource_type: str, properties, ctx, existing=None,
           name: str | None = None) -> list[tuple[str, str]] | None:
    """[(action, resource)] making this resource needs of the stack's caller; None for a type
    this module does not know (to be refused). `existing(kind, name)`: the ARN of the IAM user,
    role or group of that name the account has, else None (its path is in its ARN). `name`:
    the resource's name when its type has a name property (the template's value or the one the
    stack made up)."""
    if resource_type in NOTHING:
        return []
    if resource_type not in CREATE:
        return None
    properties = properties if isinstance(properties, dict) else {}
    if resource_type.startswith("AWS::IAM::"):
        needed = _iam_checks(resource_type, properties, ctx,
                             existing or (lambda kind, name: None), name)
    else:
        own = arn_of(resource_type, name, ctx)
        needed = [(action, own) for action in CREATE[resource_type]]
        needed += [("iam:PassRole", role) for role in sorted(set(_passed_roles(properties)))]
    return [(action, resource) for action, resource in needed if UNKNOWN not in resource]


def _iam_checks(resource_type: str, properties: dict, ctx, existing,
                name: str | None) -> list[tuple[str, str]]:
    """On the ARNs of the users, roles and groups the resource makes or acts on, so that a Deny
    on one (iam:CreateAccessKey on user/admin) holds in a stack as in a call."""
    def arn(kind: str, name, path=None) -> str:
        if not isinstance(name, str) or not name:
            return "*"  # not known: a property the template leaves out
        if name.startswith("arn:"):
            return name
        found = existing(kind, name) if kind in ("user", "role", "group") else None
        if found:
            return found
        path = path if isinstance(path, str) and path.startswith("/") else "/"
        return f"arn:{ctx.partition}:iam::{ctx.account}:{kind}{path}{name}"

    kind, key = _IAM_SELF.get(resource_type, (None, None))
    own_name = properties.get(key)
    if own_name is None and resource_type in _IAM_NAMED:
        own_name = name  # the name the stack makes up: a Deny on its pattern holds
    own = arn(kind, own_name, properties.get("Path")) if kind else "*"
    needed = [(action, own) for action in CREATE[resource_type]]
    needed += [(action, own) for extra, action in _IAM_EXTRA.get(resource_type, {}).items()
               if properties.get(extra)]
    for others, (kind, action) in _IAM_OTHERS.get(resource_type, {}).items():
        targets = properties.get(others)
        for target in targets if isinstance(targets, list) else [targets] if targets else []:
            needed.append((action, arn(kind, target)))
    if resource_type == "AWS::IAM::Policy" and not needed:
        needed.append(("iam:PutUserPolicy", "*"))  # attached to nothing: AWS refuses it anyway
    if resource_type == "AWS::IAM::InstanceProfile":
        roles = properties.get("Roles")
        for role in roles if isinstance(roles, list) else []:
            needed.append(("iam:PassRole", arn("role", role)))
    return needed


# An inline policy's delete, on each user, role and group it is in.
_DELETE_INLINE = {"user_names": ("user", "iam:DeleteUserPolicy"),
                  "role_names": ("role", "iam:DeleteRolePolicy"),
                  "group_names": ("group", "iam:DeleteGroupPolicy")}


def delete_checks(resource_type: str, resource, ctx,
                  existing=None) -> list[tuple[str, str]] | None:
    """[(action, resource)] deleting `resource` (moto's, or one of the emulator's ECS and ECR
    types) needs of the stack's caller, on its ARN; None for a type this module does not know
    (to be refused, as its create is)."""
    if resource_type in NOTHING:
        return []
    if resource_type not in DELETE:
        return None
    existing = existing or (lambda kind, name: None)

    def iam_arn(kind: str, name) -> str:
        return (existing(kind, name) or f"arn:{ctx.partition}:iam::{ctx.account}:{kind}/{name}"
                if isinstance(name, str) and name else "*")

    actions = DELETE.get(resource_type, ())
    if resource_type == "AWS::IAM::AccessKey":
        target = iam_arn("user", getattr(resource, "user_name", None))
    elif resource_type == "AWS::IAM::UserToGroupAddition":
        target = iam_arn("group", getattr(resource, "group_name", None)
                         or getattr(resource, "physical_resource_id", None))
    elif resource_type == "AWS::IAM::Policy":
        return [(action, iam_arn(kind, name))
                for attribute, (kind, action) in _DELETE_INLINE.items()
                for name in getattr(resource, attribute, None) or []]
    elif resource_type == "AWS::ECS::TaskSet":
        attributes = getattr(resource, "attributes", {})  # DeleteTaskSet is on the service
        target = (f"arn:{ctx.partition}:ecs:{ctx.region}:{ctx.account}:service/"
                  f"{_last(attributes.get('Cluster'))}/{_last(attributes.get('Service'))}")
    else:  # the ARN the create was asked on, else moto's
        target = arn_of(resource_type, getattr(resource, "physical_resource_id", None), ctx)
        target = _arn_attribute(resource) if target == "*" else target
        target = target or "*"
    return [(action, target) for action in actions]


def _arn_attribute(resource) -> str | None:
    """moto's own record of the resource's ARN, where it keeps one."""
    for attribute in ("arn", "queue_arn", "table_arn", "function_arn"):
        try:
            value = getattr(resource, attribute, None)
        except Exception:  # noqa: BLE001 - a property of moto's that needs more than it has
            value = None
        if isinstance(value, str) and value.startswith("arn:"):
            return value
    return None


def _last(value) -> str:
    """A cluster or service given by name or ARN, as its name."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else ""


def _passed_roles(value, key: str = ""):
    """The role ARNs in properties whose name says they hand a role to a service."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _passed_roles(inner, str(name))
    elif isinstance(value, list):
        for inner in value:
            yield from _passed_roles(inner, key)
    elif isinstance(value, str) and _ROLE_KEY.search(key) and ":role/" in value:
        yield value

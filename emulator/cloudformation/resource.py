"""What every CloudFormation resource type of ours shares: the protocol moto's stack engine speaks
to a resource class, and the way to our APIs.

moto's engine (moto/cloudformation/parsing.py) resolves a type to a class and calls
`create_from_cloudformation_json`, `update_from_cloudformation_json` and the instance's
`delete(account, region)`; Ref reads `physical_resource_id` and Fn::GetAtt `get_cfn_attribute`.
Our classes speak that protocol without subclassing moto's CloudFormationModel, whose subclasses
moto collects at import time: they are installed by `emulator.cloudformation.install`, by the
app factory, and nowhere else.

Every change goes through the ECS or ECR JsonService (`Api.call`): the same validation, lock,
handlers and errors as a request, in the stack's account and region.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass

from emulator.aws.context import RequestContext
from emulator.aws.errors import AwsError
from emulator.aws.moto_bridge import MotoBridge

EXTENSION = "cloudformation"  # key of the Api factory in MotoBridge.extensions

# The service role (RoleARN) the current stack operation acts with, if any: its resources are
# checked against the role's policies instead of the caller's (stack_role.py sets it).
_ACTING_ROLE: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ecs_emulator_stack_role", default=None)


@contextmanager
def acting_as(role: str | None):
    token = _ACTING_ROLE.set(role)
    try:
        yield
    finally:
        _ACTING_ROLE.reset(token)


def stack_rights():
    """The access rules (access/rights.py) of this stack request's emulator, or None."""
    current = MotoBridge.current()
    services = current.bridge.extensions.get(EXTENSION) if current is not None else None
    return services.rights if services is not None else None


class ResourceFailed(Exception):
    """A resource could not reach its goal; the message is the reason in the stack's events."""

    HANDLER_ERROR_CODE = "NotStabilized"  # the resource handler's, as the reason shows it


class NotYet(Exception):
    """A resource that cannot go yet but may once others of the stack have (a capacity provider
    still on a cluster whose association the same delete removes): tried again, as a service's
    error is, never final on the first try as ResourceFailed is."""


class PropertiesInvalid(ResourceFailed):
    """The template's properties break the type's schema (a required one missing), found by
    CloudFormation before any handler runs: the reason is CloudFormation's own, not a handler's."""


@dataclass
class Services:
    """What the app factory gives the resource types: our two JSON services and the settings."""

    ecs: object
    ecr: object
    settings: object
    rights: object = None  # access/rights.py: a container's stack may do what its calls may


@dataclass
class Api:
    """Calls to our services on behalf of one stack (its account and region)."""

    services: Services
    ctx: RequestContext
    environ: dict  # the stack request's: who asked for the stack

    @classmethod
    def for_stack(cls, account: str, region: str) -> "Api":
        current = MotoBridge.current()
        if current is None or EXTENSION not in current.bridge.extensions:
            raise ResourceFailed("This emulator's CloudFormation resource types are not installed.")
        request = current.ctx
        # The caller's host too: ECR builds repository URIs from it, as for API calls.
        ctx = RequestContext(account=account, region=region, access_key=request.access_key,
                             host=request.host)
        return cls(current.bridge.extensions[EXTENSION], ctx, current.environ)

    def ecs(self, operation: str, params: dict) -> dict:
        return self._call(self.services.ecs, operation, params)

    def ecr(self, operation: str, params: dict) -> dict:
        return self._call(self.services.ecr, operation, params)

    def _call(self, service, operation: str, params: dict) -> dict:
        if self.services.rights is not None:  # what it checked is what is called
            params = self.services.rights.check_on_behalf(service, operation, params,
                                                          self.environ, self.ctx,
                                                          _ACTING_ROLE.get())
        return service.invoke(operation, params, self.ctx)

    @property
    def settings(self):
        return self.services.settings


def check_stack_resource(resource_type: str, properties, deleting=None,
                         name: str | None = None) -> None:
    """Refuse (an AccessDeniedException) a resource of moto's that the stack's caller may not
    make (`name`: its name, given or made up, when its type has one), or a resource the caller
    may not delete (`deleting`), under IAM enforcement (access/rights.py)."""
    rights = stack_rights()
    if rights is not None:
        current = MotoBridge.current()
        rights.check_stack_resource(resource_type, properties, current.environ, current.ctx,
                                    deleting, name, _ACTING_ROLE.get())


def enforcing() -> bool:
    """Whether this stack request's resources are checked against IAM (so that the work of
    checking is skipped when they are not)."""
    rights = stack_rights()
    return bool(rights is not None and rights.enforces_iam)


class ApiResource:
    """One resource of a stack. Subclasses set TYPE, NAME_PROPERTY, ATTRIBUTES and REPLACE_ON,
    and implement `create`, `update_in_place` and `remove`."""

    TYPE = ""
    NAME_PROPERTY: str | None = None
    ATTRIBUTES: tuple[str, ...] = ()
    # Properties whose change replaces the resource (the CloudFormation reference's "Update
    # requires: Replacement"; "A.B" for B of the structure A); None: every change does.
    REPLACE_ON: frozenset[str] | None = frozenset()
    # Properties the type's schema requires beyond what the API itself requires (which fails
    # the resource with the API's message).
    REQUIRED: tuple[str, ...] = ()

    def __init__(self, physical_id: str, properties: dict, attributes: dict | None = None):
        self._physical_id = physical_id
        self.properties = properties
        self.attributes = attributes or {}
        self.replaces: "ApiResource | None" = None  # set by an update that replaced that one
        self.attempted: dict | None = None  # the properties of an update that failed

    # -- what moto's engine asks of a resource class ------------------------------------------------

    @classmethod
    def cloudformation_type(cls) -> str:
        return cls.TYPE

    @classmethod
    def cloudformation_name_type(cls) -> str:
        return cls.NAME_PROPERTY or ""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in cls.ATTRIBUTES

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    def get_cfn_attribute(self, name: str):
        if name not in self.ATTRIBUTES or name not in self.attributes:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException

            raise UnformattedGetAttTemplateException()
        return self.attributes[name]

    def is_created(self) -> bool:
        return True

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        api = Api.for_stack(account_id, region_name)
        properties = cloudformation_json.get("Properties") or {}
        cls._check_required(kwargs.get("LogicalId") or resource_name, properties, region_name)
        return cls.create(api, properties, cls.generated_name(resource_name, properties))

    @classmethod
    def _check_required(cls, logical_id: str, properties: dict, region: str) -> None:
        """The schema's checks CloudFormation makes before any handler runs: required
        properties there, and no property the type does not have (a typo, `DesiredCont`)."""
        from emulator.cloudformation.template_types import declared_properties

        declared = declared_properties(cls.TYPE, region)
        missing = [f"#: extraneous key [{key}] is not permitted" for key in properties
                   if declared is not None and key not in declared]
        missing += [f"#: required key [{key}] not found" for key in cls.REQUIRED
                    if key not in properties]
        if len(missing) > 1:
            missing.insert(0, f"#: {len(missing)} schema violations found")
        if missing:
            raise PropertiesInvalid(f"Properties validation failed for resource {logical_id} "
                                    f"with message: {chr(10).join(missing)}")

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        api = Api.for_stack(account_id, region_name)
        new = cloudformation_json.get("Properties") or {}
        cls._check_required(getattr(original_resource, "logical_resource_id", new_resource_name),
                            new, region_name)
        old = original_resource.properties
        changed = {k for k in set(old) | set(new) if old.get(k) != new.get(k)}
        if not changed:
            return original_resource
        if cls.REPLACE_ON is None or any(_value_at(old, path) != _value_at(new, path)
                                         for path in cls.REPLACE_ON):
            return cls._replace(api, original_resource, new, new_resource_name)
        try:
            updated = original_resource.update_in_place(api, new)
        except Exception as error:
            # It may have got half-way (a service whose new deployment failed): a rollback must
            # update it back, not find the old properties unchanged (replacements.restore). A
            # refusal of the caller's rights changed nothing (and would refuse the way back).
            # (update_in_place records a half-way state of its own first, if it knows one.)
            if original_resource.attempted is None and not (
                    isinstance(error, AwsError) and error.code == "AccessDeniedException"):
                original_resource.attempted = new
            raise
        # moto's retry (or the rollback's update back) succeeded: nothing is half-way now
        original_resource.attempted = None
        if updated is not None:
            updated.attempted = None
        return updated

    @classmethod
    def _replace(cls, api: Api, original: "ApiResource", new: dict, new_resource_name: str):
        name = cls.NAME_PROPERTY
        if name and new.get(name) and new.get(name) == original.properties.get(name):
            raise ResourceFailed(
                "CloudFormation cannot update a stack when a custom-named resource requires "
                f"replacing. Rename {new[name]} and update the stack again.")
        return cls.create(api, new, cls.generated_name(new_resource_name, new)).replacing(original)

    def replacing(self, original: "ApiResource") -> "ApiResource":
        """This resource replaces `original`, which stays until the update's clean-up phase
        (deleted) or its rollback (in use again): replacements.py."""
        self.replaces = original
        return self

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        # moto calls this only when the instance's delete() raised TypeError or AttributeError.
        raise ResourceFailed(f"{cls.TYPE} {resource_name} could not be deleted.")

    def delete(self, account_id: str, region_name: str) -> None:
        self.remove(Api.for_stack(account_id, region_name))

    # -- what each type implements ------------------------------------------------------------------

    @classmethod
    def generated_name(cls, moto_name: str, properties: dict) -> str:
        """The resource's name: its name property, else the stack-logical-suffix moto made up."""
        if cls.NAME_PROPERTY and properties.get(cls.NAME_PROPERTY):
            return str(properties[cls.NAME_PROPERTY])
        return moto_name

    @classmethod
    def create(cls, api: Api, properties: dict, name: str) -> "ApiResource":
        raise NotImplementedError

    def update_in_place(self, api: Api, properties: dict) -> "ApiResource":
        raise NotImplementedError

    def remove(self, api: Api) -> None:
        raise NotImplementedError


def _value_at(properties: dict, path: str):
    """The value at a REPLACE_ON path ("A" or "A.B"), None where a step is missing."""
    value = properties
    for key in path.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def tag_changes(api_call, arn: str, old: list[dict], new: list[dict], *, lower: bool) -> None:
    """TagResource/UntagResource for the difference between two tag lists ([{Key, Value}])."""
    old_map = {t["Key"]: t["Value"] for t in old}
    new_map = {t["Key"]: t["Value"] for t in new}
    gone = [k for k in old_map if k not in new_map]
    if gone:
        api_call("UntagResource", {"resourceArn": arn, "tagKeys": gone})
    changed = [{"Key": k, "Value": v} for k, v in new_map.items() if old_map.get(k) != v]
    if changed:
        tags = [{"key": t["Key"], "value": t["Value"]} for t in changed] if lower else changed
        api_call("TagResource", {"resourceArn": arn, "tags": tags})


def delete_gone(api_call, operation: str, params: dict, *gone: str) -> None:
    """A delete that succeeds when what it deletes is already gone (an error whose code is in
    `gone`), as CloudFormation's handlers do; any other error fails the resource."""
    try:
        api_call(operation, params)
    except AwsError as error:
        if error.code not in gone:
            raise

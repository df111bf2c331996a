"""What the ECR handlers share: the registry a call addresses, the repository and images it
names, the host clients reach our registry on, and pagination with ECR's limits and error."""

from __future__ import annotations

from typing import Callable, Sequence

from emulator.access.rights import AccessDeniedException
from emulator.aws.json_service import Call
from emulator.aws.pagination import InvalidToken, PageRequest, paginate
from emulator.ecr import arns, cross_account, names, policies
from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.model import ImageId, Repository


def store_of(call: Call):
    """The registry a registry-level call addresses: the caller's, or the account its registryId
    names, which must grant the call (cross_account.py). Every handler reaches another account's
    registry through here, repository_of or listing_of, so none goes without that check."""
    store = registry_of(call)
    _require(call, store, None, getattr(call.request, "repository_name", None))
    return store


def repository_of(call: Call) -> tuple[object, Repository]:
    store = registry_of(call)
    return store, repository_in(call, store, call.request.repository_name)


def repository_in(call: Call, store, name: str) -> Repository:
    """The repository of that name in `store` (registry_of's); another account's only where its
    policies grant the call, checked before the lookup so a refusal tells nothing of what
    exists."""
    names.check_repository_name(name)
    _require(call, store, name, name)
    return store.repository(name)


def listing_of(call: Call) -> tuple[object, list[Repository]]:
    """The registry a listing (DescribeRepositories without names) addresses and the
    repositories it shows: all of the caller's own; of another account's, those whose
    policies grant the caller the call."""
    other = _other_registry_id(call)
    store = (call.store if other is None
             else call.store.state.existing_store(other, call.store.region))
    if store is None:
        return None, []  # a registry that holds nothing shows nothing, as one that grants nothing
    action = _action(call)
    return store, [r for r in store.repositories.values()
                   if cross_account.grants(store, call.store.account, (action,), r.name)]


def registry_of(call: Call):
    """The registry the call's registryId names (the caller's without one), unchecked: callers
    check with repository_in."""
    registry_id = _other_registry_id(call)
    if registry_id is None:
        return call.store
    # Another account's registry that holds nothing yet has no policy to grant anything: refused
    # here, so that no refused call leaves an empty registry behind for each id it made up.
    store = call.store.state.existing_store(registry_id, call.store.region)
    if store is None:
        _refuse(call, registry_id, call.store.region, _named_repository(call))
    return store


def _named_repository(call: Call) -> str | None:
    """The repository the call names (DescribeRepositories: the first of its names)."""
    named = getattr(call.request, "repository_name", None)
    return named or next(iter(getattr(call.request, "repository_names", None) or ()), None)


def _other_registry_id(call: Call) -> str | None:
    """The registryId the call names when it is another account's (checked), else None."""
    # Registry-wide operations without a registryId member address the caller's registry.
    registry_id = getattr(call.request, "registry_id", None)
    if registry_id is None or registry_id == call.store.account:
        return None
    return names.check_registry_id(registry_id)


def _require(call: Call, store, repository_name: str | None, resource_name: str | None) -> None:
    action = _action(call)
    if cross_account.grants(store, call.store.account, (action,), repository_name,
                            makes=resource_name if repository_name is None else None):
        return
    _refuse(call, store.account, store.region, resource_name)


def _refuse(call: Call, account: str, region: str, resource_name: str | None):
    resource = "*" if resource_name is None else arns.repository(account, region, resource_name)
    raise AccessDeniedException(policies.denial(_caller_arn(call), _action(call), resource))


def _action(call: Call) -> str:
    return f"ecr:{call.operation}"


def _caller_arn(call: Call) -> str:
    """Who AWS names in a refusal: the IAM user or role of the caller's key, else the root."""
    ctx = call.ctx
    principal = call.store.state.principal_of(ctx.access_key, ctx.account, ctx.region)
    return principal or f"arn:{ctx.partition}:iam::{ctx.account}:root"


def image_id_of(wire: dict) -> ImageId:
    """A request's ImageIdentifier as a named value."""
    return ImageId(wire.get("imageDigest"), wire.get("imageTag"))


def image_ids_of(wire: list[dict] | None) -> list[ImageId] | None:
    return None if wire is None else [image_id_of(i) for i in wire]


def host_of(call: Call) -> str:
    """host:port of our registry as the client reaches us."""
    return arns.registry_host(call.ctx.host, call.store.state.settings)


def base_url(call: Call) -> str:
    return arns.proxy_endpoint(host_of(call))


def page_of(items: Sequence, request: PageRequest, *, key: Callable, max_limit: int = 1000,
            default_max: int = 100):
    """One page of `items` by the request's next_token and max_results, as ECR pages them."""
    max_results = request.max_results
    if max_results is not None and not 1 <= max_results <= max_limit:
        raise InvalidParameterException(f"maxResults must be between 1 and {max_limit}.")
    try:
        return paginate(items, key=key, next_token=request.next_token,
                        max_results=max_results, default_max=default_max)
    except InvalidToken:
        raise InvalidParameterException("Invalid parameter at 'nextToken': invalid token.") from None


def refuse_paging_with_ids(request: PageRequest, ids: list | None, ids_member: str) -> None:
    """ECR refuses maxResults and nextToken when the caller names the items it wants (`ids`, the
    request's `ids_member`)."""
    if ids and (request.max_results is not None or request.next_token is not None):
        raise InvalidParameterException(
            f"maxResults and nextToken cannot be used together with {ids_member}."
        )

"""What the ECR handlers share: the registry a call addresses, the repository and images it
names, the host clients reach our registry on, and pagination with ECR's limits and error."""

from __future__ import annotations

from typing import Callable, Sequence

from emulator.aws.json_service import Call
from emulator.aws.pagination import InvalidToken, PageRequest, paginate
from emulator.ecr import arns, names
from emulator.ecr.errors import InvalidParameterException
from emulator.ecr.model import ImageId, Repository


def store_of(call: Call):
    """The registry the call addresses: the caller's, or the account its registryId names (we
    do not check the permission policies a cross-account call would need)."""
    # Registry-wide operations without a registryId member address the caller's registry.
    registry_id = getattr(call.request, "registry_id", None)
    if registry_id is None or registry_id == call.store.account:
        return call.store
    names.check_registry_id(registry_id)
    return call.store.other(registry_id, call.store.region)


def repository_of(call: Call) -> tuple[object, Repository]:
    store = store_of(call)
    name = call.request.repository_name
    names.check_repository_name(name)
    return store, store.repository(name)


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

"""What the ECS handlers share: pagination with ECS's limits and error, and the found and
missing of a Describe call."""

from __future__ import annotations

from typing import Callable, Sequence

from emulator.aws.pagination import InvalidToken, PageRequest, paginate
from emulator.ecs import render
from emulator.ecs.errors import InvalidParameterException


def described(refs: Sequence[str], find: Callable, draw: Callable,
              missing_arn: Callable[[str], str] = lambda ref: ref) -> tuple[list, list]:
    """A Describe call's (found, failures) for the references it names: draw(what find(ref)
    found) for each found one, else a MISSING failure naming missing_arn(ref) (ECS names the ARN
    the reference would have, where it can tell)."""
    found, failures = [], []
    for ref in refs:
        hit = find(ref)
        if hit is None:
            failures.append(render.failure(missing_arn(ref), "MISSING"))
        else:
            found.append(draw(hit))
    return found, failures


def page_of(items: Sequence, request: PageRequest, *, key: Callable, max_limit: int = 100,
            default_max: int = 100, descending: bool = False):
    """One page of `items` by the request's next_token and max_results, as ECS pages them."""
    max_results = request.max_results
    if max_results is not None and not 1 <= max_results <= max_limit:
        raise InvalidParameterException(
            f"maxResults must be between 1 and {max_limit}."
        )
    try:
        return paginate(
            items,
            key=key,
            next_token=request.next_token,
            max_results=max_results,
            default_max=default_max,
            descending=descending,
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid nextToken.") from None

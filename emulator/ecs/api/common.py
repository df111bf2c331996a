"""What the ECS handlers share: pagination with ECS's limits and error."""

from __future__ import annotations

from typing import Callable, Sequence

from emulator.aws.pagination import InvalidToken, paginate
from emulator.ecs.errors import InvalidParameterException


def page_of(items: Sequence, params: dict, *, key: Callable, max_limit: int = 100,
            default_max: int = 100, descending: bool = False):
    """One page of `items` by the request's nextToken and maxResults, as ECS pages them."""
    max_results = params.get("maxResults")
    if max_results is not None and not 1 <= max_results <= max_limit:
        raise InvalidParameterException(
            f"maxResults must be between 1 and {max_limit}."
        )
    try:
        return paginate(
            items,
            key=key,
            next_token=params.get("nextToken"),
            max_results=max_results,
            default_max=default_max,
            descending=descending,
        )
    except InvalidToken:
        raise InvalidParameterException("Invalid nextToken.") from None

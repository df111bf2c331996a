"""nextToken/maxResults pagination, the same way for every List operation.

A token names the sort key of the last item returned, so a page stays correct when items are
added or removed between calls (an offset would skip or repeat them).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Callable, Protocol, Sequence, TypeVar

T = TypeVar("T")


class PageRequest(Protocol):
    """What a List or Describe request says of the page it wants: the request class of any
    operation with nextToken and maxResults members (api_shapes/requests.py) fits."""

    next_token: str | None
    max_results: int | None


class InvalidToken(ValueError):
    pass


def encode_token(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": key}).encode()).decode()


def decode_token(token: str) -> object:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        return decoded["after"]
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidToken("Invalid nextToken") from None


def paginate(
    items: Sequence[T],
    *,
    key: Callable[[T], object],
    next_token: str | None,
    max_results: int | None,
    default_max: int = 100,
    descending: bool = False,
) -> tuple[list[T], str | None]:
    """Return one page of `items` (already sorted by `key`) and the token for the next page."""
    start = 0
    if next_token:
        after = decode_token(next_token)
        try:
            start = next(
                i for i, item in enumerate(items) if _after(key(item), after, descending)
            )
        except StopIteration:
            start = len(items)
        except TypeError:
            raise InvalidToken("Invalid nextToken") from None
    limit = max_results or default_max
    page = list(items[start : start + limit])
    token = encode_token(key(page[-1])) if page and start + limit < len(items) else None
    return page, token


def _after(item_key: object, after: object, descending: bool) -> bool:
    # Keys are strings, numbers or lists (composite keys); json turns tuples into lists.
    if isinstance(item_key, tuple):
        item_key = list(item_key)
    return item_key < after if descending else item_key > after

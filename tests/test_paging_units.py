"""Pagination at the edge (ecs/api/common.py, ecr/api/common.py): `page_of` reads a typed
request's next_token and max_results, with each service's limits and messages."""

import dataclasses

import pytest

from api_shapes import load_service
from emulator.ecr.api.common import page_of as ecr_page_of, refuse_paging_with_ids
from emulator.ecr.errors import InvalidParameterException as EcrInvalid
from emulator.ecs.api.common import page_of
from emulator.ecs.errors import InvalidParameterException
from tests.ecs_requests import ecs_request

ITEMS = ["a", "b", "c", "d", "e"]


def ecr_request(operation: str, params: dict):
    return load_service("ecr").request(operation, params)


def test_pages_follow_the_token_to_the_end():
    seen, token = [], None
    while True:
        page, token = page_of(ITEMS, ecs_request("ListClusters", {
            "maxResults": 2, **({"nextToken": token} if token else {})}), key=lambda i: i)
        seen.append(page)
        if token is None:
            break
    assert seen == [["a", "b"], ["c", "d"], ["e"]]


def test_descending_pages_and_the_default_size():
    request = ecs_request("ListTaskDefinitions", {"maxResults": 3})
    page, token = page_of(ITEMS[::-1], request, key=lambda i: i, descending=True)
    assert page == ["e", "d", "c"]
    rest, last = page_of(ITEMS[::-1], dataclasses.replace(request, next_token=token),
                         key=lambda i: i, descending=True)
    assert (rest, last) == (["b", "a"], None)
    page, token = page_of(ITEMS, ecs_request("ListClusters", {}), key=lambda i: i, default_max=4)
    assert page == ITEMS[:4] and token is not None


@pytest.mark.parametrize("max_results", [0, 11])
def test_ecs_refuses_max_results_beyond_its_limit(max_results):
    with pytest.raises(InvalidParameterException, match=r"^maxResults must be between 1 and 10\.$"):
        page_of(ITEMS, ecs_request("ListAccountSettings", {"maxResults": max_results}),
                key=lambda i: i, max_limit=10)


def test_ecs_and_ecr_refuse_a_forged_token_each_in_its_words():
    with pytest.raises(InvalidParameterException, match=r"^Invalid nextToken\.$"):
        page_of(ITEMS, ecs_request("ListClusters", {"nextToken": "forged"}), key=lambda i: i)
    with pytest.raises(EcrInvalid, match="^Invalid parameter at 'nextToken': invalid token.$"):
        ecr_page_of(ITEMS, ecr_request("DescribeRepositories", {"nextToken": "forged"}),
                    key=lambda i: i)


def test_ecr_refuses_paging_when_the_caller_names_what_it_wants():
    named = ecr_request("DescribeRepositories", {"repositoryNames": ["web"], "maxResults": 5})
    with pytest.raises(EcrInvalid, match="cannot be used together with repositoryNames"):
        refuse_paging_with_ids(named, named.repository_names, "repositoryNames")
    alone = ecr_request("DescribeRepositories", {"repositoryNames": ["web"]})
    refuse_paging_with_ids(alone, alone.repository_names, "repositoryNames")
    paged = ecr_request("DescribeRepositories", {"maxResults": 5})
    refuse_paging_with_ids(paged, paged.repository_names, "repositoryNames")

"""Handlers of the repository operations: create, describe, delete, settings, permission policy."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import render, repositories
from emulator.ecr.api.common import (
    host_of, listing_of, page_of, refuse_paging_with_ids, registry_of, repository_in,
    repository_of, store_of,
)


@handler("CreateRepository")
def create_repository(call: Call) -> dict:
    store, request = store_of(call), call.request
    repository = repositories.create(
        store, request.repository_name, resource_tags=request.tags,
        tag_mutability=request.image_tag_mutability,
        exclusion_filters=request.image_tag_mutability_exclusion_filters,
        scan_on_push=(request.image_scanning_configuration or {}).get("scanOnPush", False),
        encryption=request.encryption_configuration)
    return {"repository": render.repository(store, repository, host_of(call))}


@handler("DescribeRepositories")
def describe_repositories(call: Call) -> dict:
    refuse_paging_with_ids(call.request, call.request.repository_names, "repositoryNames")
    wanted = call.request.repository_names
    if wanted:
        store = registry_of(call)
        found = [repository_in(call, store, n) for n in dict.fromkeys(wanted)]
        token = None
    else:
        store, visible = listing_of(call)
        found, token = page_of(sorted(visible, key=lambda r: r.name), call.request,
                               key=lambda r: r.name)
    host = host_of(call)
    return {"repositories": [render.repository(store, r, host) for r in found], "nextToken": token}


@handler("DeleteRepository")
def delete_repository(call: Call) -> dict:
    store, repository = repository_of(call)
    repositories.delete(store, repository.name, bool(call.request.force))
    return {"repository": render.repository(store, repository, host_of(call))}


@handler("PutImageTagMutability")
def put_image_tag_mutability(call: Call) -> dict:
    store, repository = repository_of(call)
    repositories.put_tag_mutability(store, repository.name, call.request.image_tag_mutability,
                                    call.request.image_tag_mutability_exclusion_filters)
    return render.tag_mutability(store, repository)


@handler("PutImageScanningConfiguration")
def put_image_scanning_configuration(call: Call) -> dict:
    store, repository = repository_of(call)
    repositories.put_scan_on_push(
        repository, call.request.image_scanning_configuration.get("scanOnPush", False))
    return {
        "registryId": store.account,
        "repositoryName": repository.name,
        "imageScanningConfiguration": {"scanOnPush": repository.scan_on_push},
    }


@handler("SetRepositoryPolicy")
def set_repository_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    repositories.set_policy(store, repository.name, call.request.policy_text)
    return _policy(store, repository.name, repository.policy)


@handler("GetRepositoryPolicy")
def get_repository_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    _, text = repositories.policy_of(store, repository.name)
    return _policy(store, repository.name, text)


@handler("DeleteRepositoryPolicy")
def delete_repository_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    _, text = repositories.delete_policy(store, repository.name)
    return _policy(store, repository.name, text)


def _policy(store, name: str, text: str) -> dict:
    return {"registryId": store.account, "repositoryName": name, "policyText": text}

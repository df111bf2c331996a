"""Handlers of the lifecycle policy operations and their previews."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import lifecycle
from emulator.ecr.api.common import page_of, repository_of


@handler("PutLifecyclePolicy")
def put_lifecycle_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    lifecycle.put(store, repository.name, call.params["lifecyclePolicyText"])
    return _policy(store, repository.name, repository.lifecycle_policy)


@handler("GetLifecyclePolicy")
def get_lifecycle_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    lifecycle.get(store, repository.name)
    return {**_policy(store, repository.name, repository.lifecycle_policy),
            "lastEvaluatedAt": repository.lifecycle_evaluated_at}


@handler("DeleteLifecyclePolicy")
def delete_lifecycle_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    updated = repository.lifecycle_evaluated_at
    _, text = lifecycle.delete(store, repository.name)
    return {**_policy(store, repository.name, text), "lastEvaluatedAt": updated}


@handler("StartLifecyclePolicyPreview")
def start_lifecycle_policy_preview(call: Call) -> dict:
    store, repository = repository_of(call)
    preview = lifecycle.start_preview(store, repository.name,
                                      call.params.get("lifecyclePolicyText"))
    return {**_policy(store, repository.name, preview.policy_text), "status": preview.status}


@handler("GetLifecyclePolicyPreview")
def get_lifecycle_policy_preview(call: Call) -> dict:
    store, repository = repository_of(call)
    _, preview = lifecycle.preview_of(store, repository.name)
    results = _filtered(preview.results, call.params)
    page, token = page_of(results, call.params, key=lambda r: r["imageDigest"], max_limit=100)
    return {
        **_policy(store, repository.name, preview.policy_text),
        "status": preview.status,
        "previewResults": page,
        "nextToken": token,
        "summary": {"expiringImageTotalCount": len(preview.results)},
    }


def _filtered(results: list[dict], params: dict) -> list[dict]:
    tag_status = params.get("filter", {}).get("tagStatus", "ANY")
    if tag_status == "TAGGED":
        results = [r for r in results if r["imageTags"]]
    elif tag_status == "UNTAGGED":
        results = [r for r in results if not r["imageTags"]]
    wanted = params.get("imageIds")
    if wanted:
        digests = {i.get("imageDigest") for i in wanted}
        tags = {i.get("imageTag") for i in wanted}
        results = [r for r in results
                   if r["imageDigest"] in digests or tags.intersection(r["imageTags"])]
    return sorted(results, key=lambda r: r["imageDigest"])


def _policy(store, name: str, text: str | None) -> dict:
    return {"registryId": store.account, "repositoryName": name, "lifecyclePolicyText": text}

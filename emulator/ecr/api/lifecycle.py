"""Handlers of the lifecycle policy operations and their previews."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import lifecycle, render
from emulator.ecr.api.common import image_ids_of, page_of, repository_of
from emulator.ecr.model import ImageId, PreviewResult


@handler("PutLifecyclePolicy")
def put_lifecycle_policy(call: Call) -> dict:
    store, repository = repository_of(call)
    lifecycle.put(store, repository.name, call.request.lifecycle_policy_text)
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
    preview = lifecycle.start_preview(store, repository.name, call.request.lifecycle_policy_text)
    # ECR answers IN_PROGRESS and runs the preview in the background; ours is done already, so
    # the first GetLifecyclePolicyPreview (and the LifecyclePolicyPreviewComplete waiter) finds
    # it COMPLETE. A client that took COMPLETE here for granted would fail on ECR.
    return {**_policy(store, repository.name, preview.policy_text), "status": "IN_PROGRESS"}


@handler("GetLifecyclePolicyPreview")
def get_lifecycle_policy_preview(call: Call) -> dict:
    store, repository = repository_of(call)
    _, preview = lifecycle.preview_of(store, repository.name)
    results = _filtered(preview.results, (call.request.filter or {}).get("tagStatus", "ANY"),
                        image_ids_of(call.request.image_ids))
    page, token = page_of(results, call.request, key=lambda r: r.digest, max_limit=100)
    return {
        **_policy(store, repository.name, preview.policy_text),
        "status": preview.status,
        "previewResults": [render.preview_result(r) for r in page],
        "nextToken": token,
        "summary": render.preview_summary(preview.results),
    }


def _filtered(results: list[PreviewResult], tag_status: str,
              wanted: list[ImageId] | None) -> list[PreviewResult]:
    if tag_status == "TAGGED":
        results = [r for r in results if r.tags]
    elif tag_status == "UNTAGGED":
        results = [r for r in results if not r.tags]
    if wanted:
        digests = {i.digest for i in wanted}
        tags = {i.tag for i in wanted}
        results = [r for r in results if r.digest in digests or tags.intersection(r.tags)]
    return sorted(results, key=lambda r: r.digest)


def _policy(store, name: str, text: str | None) -> dict:
    return {"registryId": store.account, "repositoryName": name, "lifecyclePolicyText": text}

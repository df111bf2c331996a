"""Handlers of the pull through cache rule operations (rules are stored; nothing is fetched)."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import pull_through, render
from emulator.ecr.api.common import page_of, store_of


@handler("CreatePullThroughCacheRule")
def create_pull_through_cache_rule(call: Call) -> dict:
    store = store_of(call)
    request = call.request
    rule = render.pull_through_rule(store, pull_through.create(
        store, request.ecr_repository_prefix, request.upstream_registry_url,
        upstream_registry=request.upstream_registry, credential_arn=request.credential_arn,
        custom_role_arn=request.custom_role_arn,
        upstream_prefix=request.upstream_repository_prefix))
    rule.pop("updatedAt", None)
    return rule


@handler("DescribePullThroughCacheRules")
def describe_pull_through_cache_rules(call: Call) -> dict:
    store = store_of(call)
    wanted = call.request.ecr_repository_prefixes
    if wanted:
        rules, token = [pull_through.get(store, prefix) for prefix in dict.fromkeys(wanted)], None
    else:
        every = sorted(store.pull_through_rules.values(), key=lambda r: r.prefix)
        rules, token = page_of(every, call.request, key=lambda r: r.prefix)
    return {"pullThroughCacheRules": [render.pull_through_rule(store, r) for r in rules],
            "nextToken": token}


@handler("UpdatePullThroughCacheRule")
def update_pull_through_cache_rule(call: Call) -> dict:
    store = store_of(call)
    rule = pull_through.update(store, call.request.ecr_repository_prefix,
                               credential_arn=call.request.credential_arn,
                               custom_role_arn=call.request.custom_role_arn)
    wire = render.pull_through_rule(store, rule)
    return {key: wire[key] for key in ("ecrRepositoryPrefix", "registryId", "updatedAt",
                                       "credentialArn", "customRoleArn",
                                       "upstreamRepositoryPrefix")}


@handler("DeletePullThroughCacheRule")
def delete_pull_through_cache_rule(call: Call) -> dict:
    store = store_of(call)
    wire = render.pull_through_rule(store, pull_through.delete(store,
                                                              call.request.ecr_repository_prefix))
    for key in ("upstreamRegistry", "updatedAt"):
        wire.pop(key, None)
    return wire


@handler("ValidatePullThroughCacheRule")
def validate_pull_through_cache_rule(call: Call) -> dict:
    store = store_of(call)
    rule = pull_through.get(store, call.request.ecr_repository_prefix)
    wire = render.pull_through_rule(store, rule)
    return {
        **{key: wire[key] for key in ("ecrRepositoryPrefix", "registryId", "upstreamRegistryUrl",
                                      "credentialArn", "customRoleArn",
                                      "upstreamRepositoryPrefix")},
        "isValid": False,
        "failure": pull_through.NOT_FETCHED,
    }

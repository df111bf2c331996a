"""Handlers of the registry-wide operations: authorization tokens, the registry policy,
replication and its backfills, account settings."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import account_settings, auth, backfill, names, policies, render, replication
from emulator.ecr.api.common import base_url, page_of, store_of
from emulator.ecr.errors import RegistryPolicyNotFoundException


@handler("GetAuthorizationToken")
def get_authorization_token(call: Call) -> dict:
    # One token for each registry id asked for (a deprecated member): each is the caller's own,
    # as on AWS, where naming a registry "doesn't change the permissions scope of the
    # authorization token". Another account's registry then lets it in only as far as that
    # registry's policies grant the caller's account (hooks.py); a token made out to the named
    # account let any caller read, push and delete there.
    accounts = call.request.registry_ids or [call.store.account]
    # The caller's principal rides in the token, so `docker pull` honours pull-time exclusions.
    principal = call.store.state.principal_of(call.ctx.access_key, call.store.account,
                                              call.store.region)
    data = []
    for account in accounts:
        names.check_registry_id(account)
        token, expires = auth.issue(call.store.state.signing_key, call.store.account,
                                    principal=principal)
        data.append(render.authorization(token, expires, base_url(call)))
    return {"authorizationData": data}


@handler("PutRegistryPolicy")
def put_registry_policy(call: Call) -> dict:
    store = store_of(call)
    store.registry_policy = policies.check_registry_policy(call.request.policy_text)
    return render.registry_policy(store, store.registry_policy)


@handler("GetRegistryPolicy")
def get_registry_policy(call: Call) -> dict:
    store = store_of(call)
    return render.registry_policy(store, _registry_policy(store))


@handler("DeleteRegistryPolicy")
def delete_registry_policy(call: Call) -> dict:
    store = store_of(call)
    text = _registry_policy(store)
    store.registry_policy = None
    return render.registry_policy(store, text)


@handler("PutReplicationConfiguration")
def put_replication_configuration(call: Call) -> dict:
    store = store_of(call)
    replication.put_configuration(store, call.request.replication_configuration["rules"])
    return {"replicationConfiguration": render.replication_configuration(store)}


@handler("DescribeRegistry")
def describe_registry(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account,
            "replicationConfiguration": render.replication_configuration(store)}


@handler("GetAccountSetting")
def get_account_setting(call: Call) -> dict:
    name = call.request.name
    return {"name": name, "value": account_settings.get(store_of(call), name)}


@handler("PutAccountSetting")
def put_account_setting(call: Call) -> dict:
    name = call.request.name
    return {"name": name, "value": account_settings.put(store_of(call), name, call.request.value)}


def _registry_policy(store) -> str:
    if store.registry_policy is None:
        raise RegistryPolicyNotFoundException(
            f"Registry policy does not exist in the registry with id '{store.account}'"
        )
    return store.registry_policy


@handler("StartReplicationBackfill")
def start_replication_backfill(call: Call) -> dict:
    store = store_of(call)
    item = backfill.start(store, call.request.destination)
    return {"replicationBackfillId": item.backfill_id, "registryId": store.account,
            "destination": item.destination, "status": item.status, "startedAt": item.started_at}


@handler("DescribeReplicationBackfillResults")
def describe_replication_backfill_results(call: Call) -> dict:
    store = store_of(call)
    item = backfill.get(store, call.request.replication_backfill_id)
    wanted = call.request.result_status_filter
    results = [r for r in item.results if wanted is None or r.status == wanted]
    numbered = list(enumerate(results))
    page, token = page_of(numbered, call.request, key=lambda pair: pair[0])
    return {**render.backfill(item), "registryId": store.account,
            "results": [render.backfill_result(r) for _, r in page], "nextToken": token}


@handler("ListReplicationBackfills")
def list_replication_backfills(call: Call) -> dict:
    store = store_of(call)
    every = sorted(store.backfills.values(), key=lambda b: (b.started_at.timestamp(), b.backfill_id))
    page, token = page_of(every, call.request, max_limit=50,
                          key=lambda b: [b.started_at.timestamp(), b.backfill_id])
    return {"registryId": store.account, "nextToken": token,
            "backfills": [render.backfill(b) for b in page]}


@handler("StopReplicationBackfill")
def stop_replication_backfill(call: Call) -> dict:
    backfill.stop(store_of(call), call.request.replication_backfill_id)  # always raises
    return {}

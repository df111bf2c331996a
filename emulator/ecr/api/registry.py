"""Handlers of the registry-wide operations: authorization tokens, the registry policy,
replication and its backfills, account settings."""

from emulator.aws.json_service import Call, handler
from emulator.ecr import account_settings, auth, backfill, names, policies, replication
from emulator.ecr.api.common import base_url, page_of, store_of
from emulator.ecr.errors import RegistryPolicyNotFoundException


@handler("GetAuthorizationToken")
def get_authorization_token(call: Call) -> dict:
    accounts = call.params.get("registryIds") or [call.store.account]
    # The caller's principal rides in the token, so `docker pull` honours pull-time exclusions.
    principal = call.store.state.principal_of(call.ctx.access_key, call.store.account,
                                              call.store.region)
    data = []
    for account in accounts:
        token, expires = auth.issue(call.store.state.signing_key,
                                    names.check_registry_id(account), principal=principal)
        data.append({"authorizationToken": token, "expiresAt": expires,
                     "proxyEndpoint": base_url(call)})
    return {"authorizationData": data}


@handler("PutRegistryPolicy")
def put_registry_policy(call: Call) -> dict:
    store = store_of(call)
    store.registry_policy = policies.check_registry_policy(call.params["policyText"])
    return {"registryId": store.account, "policyText": store.registry_policy}


@handler("GetRegistryPolicy")
def get_registry_policy(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account, "policyText": _registry_policy(store)}


@handler("DeleteRegistryPolicy")
def delete_registry_policy(call: Call) -> dict:
    store = store_of(call)
    text = _registry_policy(store)
    store.registry_policy = None
    return {"registryId": store.account, "policyText": text}


@handler("PutReplicationConfiguration")
def put_replication_configuration(call: Call) -> dict:
    config = replication.put_configuration(store_of(call), call.params["replicationConfiguration"])
    return {"replicationConfiguration": config}


@handler("DescribeRegistry")
def describe_registry(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account,
            "replicationConfiguration": {"rules": store.replication_rules}}


@handler("GetAccountSetting")
def get_account_setting(call: Call) -> dict:
    name = call.params["name"]
    return {"name": name, "value": account_settings.get(store_of(call), name)}


@handler("PutAccountSetting")
def put_account_setting(call: Call) -> dict:
    name = call.params["name"]
    return {"name": name, "value": account_settings.put(store_of(call), name, call.params["value"])}


def _registry_policy(store) -> str:
    if store.registry_policy is None:
        raise RegistryPolicyNotFoundException(
            f"Registry policy does not exist in the registry with id '{store.account}'"
        )
    return store.registry_policy


@handler("StartReplicationBackfill")
def start_replication_backfill(call: Call) -> dict:
    store = store_of(call)
    item = backfill.start(store, call.params["destination"])
    return {"replicationBackfillId": item.backfill_id, "registryId": store.account,
            "destination": item.destination, "status": item.status, "startedAt": item.started_at}


@handler("DescribeReplicationBackfillResults")
def describe_replication_backfill_results(call: Call) -> dict:
    store = store_of(call)
    item = backfill.get(store, call.params["replicationBackfillId"])
    wanted = call.params.get("resultStatusFilter")
    results = [r for r in item.results if wanted is None or r["status"] == wanted]
    numbered = list(enumerate(results))
    page, token = page_of(numbered, call.params, key=lambda pair: pair[0])
    return {"registryId": store.account, "replicationBackfillId": item.backfill_id,
            "destination": item.destination, "status": item.status,
            "progress": backfill.progress(item), "results": [r for _, r in page],
            "startedAt": item.started_at, "endedAt": item.ended_at, "nextToken": token}


@handler("ListReplicationBackfills")
def list_replication_backfills(call: Call) -> dict:
    store = store_of(call)
    every = sorted(store.backfills.values(), key=lambda b: (b.started_at.timestamp(), b.backfill_id))
    page, token = page_of(every, call.params, key=lambda b: [b.started_at.timestamp(), b.backfill_id],
                          max_limit=50)
    return {"registryId": store.account, "nextToken": token, "backfills": [
        {"replicationBackfillId": b.backfill_id, "destination": b.destination, "status": b.status,
         "progress": backfill.progress(b), "startedAt": b.started_at, "endedAt": b.ended_at}
        for b in page]}


@handler("StopReplicationBackfill")
def stop_replication_backfill(call: Call) -> dict:
    backfill.stop(store_of(call), call.params["replicationBackfillId"])  # always raises
    return {}

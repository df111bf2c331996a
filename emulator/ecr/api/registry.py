"""Handlers of the registry-wide operations: authorization tokens, the registry policy,
replication, account settings."""

from emulator.aws.json_service import Call
from emulator.ecr import account_settings, auth, names, policies, replication
from emulator.ecr.api import handlers
from emulator.ecr.api.common import base_url, store_of
from emulator.ecr.errors import RegistryPolicyNotFoundException


@handlers("GetAuthorizationToken")
def get_authorization_token(call: Call) -> dict:
    accounts = call.params.get("registryIds") or [call.store.account]
    data = []
    for account in accounts:
        token, expires = auth.issue(call.store.state.signing_key, names.check_registry_id(account))
        data.append({"authorizationToken": token, "expiresAt": expires,
                     "proxyEndpoint": base_url(call)})
    return {"authorizationData": data}


@handlers("PutRegistryPolicy")
def put_registry_policy(call: Call) -> dict:
    store = store_of(call)
    store.registry_policy = policies.check_registry_policy(call.params["policyText"])
    return {"registryId": store.account, "policyText": store.registry_policy}


@handlers("GetRegistryPolicy")
def get_registry_policy(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account, "policyText": _registry_policy(store)}


@handlers("DeleteRegistryPolicy")
def delete_registry_policy(call: Call) -> dict:
    store = store_of(call)
    text = _registry_policy(store)
    store.registry_policy = None
    return {"registryId": store.account, "policyText": text}


@handlers("PutReplicationConfiguration")
def put_replication_configuration(call: Call) -> dict:
    config = replication.put_configuration(store_of(call), call.params["replicationConfiguration"])
    return {"replicationConfiguration": config}


@handlers("DescribeRegistry")
def describe_registry(call: Call) -> dict:
    store = store_of(call)
    return {"registryId": store.account,
            "replicationConfiguration": {"rules": store.replication_rules}}


@handlers("GetAccountSetting")
def get_account_setting(call: Call) -> dict:
    name = call.params["name"]
    return {"name": name, "value": account_settings.get(store_of(call), name)}


@handlers("PutAccountSetting")
def put_account_setting(call: Call) -> dict:
    name = call.params["name"]
    return {"name": name, "value": account_settings.put(store_of(call), name, call.params["value"])}


def _registry_policy(store) -> str:
    if store.registry_policy is None:
        raise RegistryPolicyNotFoundException(
            f"Registry policy does not exist in the registry with id '{store.account}'"
        )
    return store.registry_policy

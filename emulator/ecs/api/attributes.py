"""Handlers of PutAttributes, DeleteAttributes and ListAttributes."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import attributes
from emulator.ecs.api.common import page_of


@handler("PutAttributes")
def put_attributes(call: Call) -> dict:
    cluster = call.store.cluster(call.params.get("cluster"))
    return {"attributes": attributes.put(call.store, cluster, call.params["attributes"])}


@handler("DeleteAttributes")
def delete_attributes(call: Call) -> dict:
    cluster = call.store.cluster(call.params.get("cluster"))
    return {"attributes": attributes.delete(call.store, cluster, call.params["attributes"])}


@handler("ListAttributes")
def list_attributes(call: Call) -> dict:
    cluster = call.store.cluster(call.params.get("cluster"))
    found = attributes.listed(
        call.store, cluster, call.params.get("attributeName"), call.params.get("attributeValue")
    )
    page, token = page_of(found, call.params, key=attributes.sort_key)
    return {"attributes": page, "nextToken": token}

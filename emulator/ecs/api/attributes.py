"""Handlers of PutAttributes, DeleteAttributes and ListAttributes."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import attributes
from emulator.ecs.api.common import page_of


@handler("PutAttributes")
def put_attributes(call: Call) -> dict:
    cluster = call.store.cluster(call.request.cluster)
    return {"attributes": attributes.put(call.store, cluster, call.request.attributes)}


@handler("DeleteAttributes")
def delete_attributes(call: Call) -> dict:
    cluster = call.store.cluster(call.request.cluster)
    return {"attributes": attributes.delete(call.store, cluster, call.request.attributes)}


@handler("ListAttributes")
def list_attributes(call: Call) -> dict:
    request = call.request
    cluster = call.store.cluster(request.cluster)
    found = attributes.listed(call.store, cluster, request.attribute_name, request.attribute_value)
    page, token = page_of(found, request, key=attributes.sort_key)
    return {"attributes": page, "nextToken": token}

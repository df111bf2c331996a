"""Handlers of the Express Mode service operations (emulator/ecs/express_services.py)."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import express_services, render_express
from emulator.ecs.errors import ResourceNotFoundException, ServiceNotFoundException


@handler("CreateExpressGatewayService")
def create_express_gateway_service(call: Call) -> dict:
    express = express_services.create(call.store, call.ctx, call.request)
    return {"service": render_express.service(call.store, express, call.ctx.host)}


@handler("UpdateExpressGatewayService")
def update_express_gateway_service(call: Call) -> dict:
    express = express_services.update(call.store, call.ctx, call.request)
    return {"service": render_express.updated(call.store, express, call.ctx.host)}


@handler("DeleteExpressGatewayService")
def delete_express_gateway_service(call: Call) -> dict:
    express = express_services.delete(call.store, call.request.service_arn)
    return {"service": render_express.service(call.store, express, call.ctx.host)}


@handler("DescribeExpressGatewayService")
def describe_express_gateway_service(call: Call) -> dict:
    try:
        express = express_services.find(call.store, call.request.service_arn)
    except ServiceNotFoundException as error:  # this one operation answers otherwise
        raise ResourceNotFoundException(error.message) from None
    return {"service": render_express.service(
        call.store, express, call.ctx.host, "TAGS" in (call.request.include or []))}

"""Deleting the network a stack made: route tables, routes, their subnet associations, internet
gateways and their attachments, which moto's stack engine leaves in place (it has no delete for
those types), so that the VPC after them can go. Without this, deleting any stack with a VPC
from the CDK's `ec2.Vpc` ends DELETE_FAILED with DependencyViolation on the VPC.

Each function does what CloudFormation's delete of that type does, through moto's EC2 backend.
"""

from __future__ import annotations


def _ec2(account: str, region: str):
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def _route_table(ec2, resource) -> None:
    table = ec2.route_tables.get(resource.physical_resource_id)
    if table is None:
        return
    table._associations.clear()  # its associations are resources of the stack going with it
    ec2.delete_route_table(table.id)


def _route(ec2, resource) -> None:
    table = getattr(resource, "route_table", None)
    if table is None or table.id not in ec2.route_tables:
        return
    if resource.id in table.routes:
        del table.routes[resource.id]


def _association(ec2, resource) -> None:
    table = ec2.route_tables.get(resource.route_table_id)
    if table is None:
        return
    for association_id, subnet_id in list(table._associations.items()):
        if subnet_id == resource.subnet_id:
            del table._associations[association_id]


def _gateway_attachment(ec2, resource) -> None:
    gateway_id = getattr(resource, "gateway_id", None) or ""
    if gateway_id.startswith("igw-"):
        gateway = ec2.internet_gateways.get(gateway_id)
        if gateway is not None and gateway.vpc is not None and gateway.vpc.id == resource.vpc_id:
            gateway.vpc = None


def _internet_gateway(ec2, resource) -> None:
    gateway = ec2.internet_gateways.get(resource.physical_resource_id)
    if gateway is None:
        return
    gateway.vpc = None
    ec2.delete_internet_gateway(gateway.id)


_DELETES = {
    "AWS::EC2::RouteTable": _route_table,
    "AWS::EC2::Route": _route,
    "AWS::EC2::SubnetRouteTableAssociation": _association,
    "AWS::EC2::VPCGatewayAttachment": _gateway_attachment,
    "AWS::EC2::InternetGateway": _internet_gateway,
}


def delete(resource_type: str, resource, account: str, region: str) -> bool:
    """Delete a network resource moto's engine would leave; False if the type is not one."""
    action = _DELETES.get(resource_type)
    if action is None:
        return False
    action(_ec2(account, region), resource)
    return True

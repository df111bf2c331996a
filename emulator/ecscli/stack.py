"""The CloudFormation stack `ecs-cli up` makes for a cluster (amazon-ecs-cli-setup-<cluster>): a VPC
(`Vpc`), two public subnets (`PubSubnetAz1`, `PubSubnetAz2`) in two availability zones, an internet
gateway and a route table sending 0.0.0.0/0 through it; for the EC2 launch type, also a security
group open on one port. EC2 instances are not made: the local Docker host serves EC2 tasks.

The stack lives in moto's CloudFormation. moto cannot delete route tables, routes, their subnet
associations or internet gateways of a stack (and then refuses to delete its VPC), so
delete_stack removes those through EC2 first, as CloudFormation would, and then the stack.
"""

from __future__ import annotations

import json
import time

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError

POLL_S = 1.0
TIMEOUT_S = 300


def template(launch_type: str | None, with_security_group: bool) -> dict:
    resources = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {
            "CidrBlock": {"Ref": "VpcCidr"}, "EnableDnsSupport": True,
            "EnableDnsHostnames": True}},
        "PubSubnetAz1": _subnet(0, "SubnetCidr1"),
        "PubSubnetAz2": _subnet(1, "SubnetCidr2"),
        "InternetGateway": {"Type": "AWS::EC2::InternetGateway"},
        "AttachGateway": {"Type": "AWS::EC2::VPCGatewayAttachment", "Properties": {
            "VpcId": {"Ref": "Vpc"}, "InternetGatewayId": {"Ref": "InternetGateway"}}},
        "RouteViaIgw": {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": {"Ref": "Vpc"}}},
        "PublicRouteViaIgw": {"Type": "AWS::EC2::Route", "DependsOn": "AttachGateway",
                              "Properties": {"RouteTableId": {"Ref": "RouteViaIgw"},
                                             "DestinationCidrBlock": "0.0.0.0/0",
                                             "GatewayId": {"Ref": "InternetGateway"}}},
        "PubSubnet1RouteTableAssociation": _association("PubSubnetAz1"),
        "PubSubnet2RouteTableAssociation": _association("PubSubnetAz2"),
    }
    if with_security_group:
        resources["EcsSecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "ECS Allowed Ports", "VpcId": {"Ref": "Vpc"},
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": {"Ref": "EcsPort"},
                                      "ToPort": {"Ref": "EcsPort"},
                                      "CidrIp": {"Ref": "SourceCidr"}}]}}
    parameters = {name: {"Type": "String"} for name in (
        "VpcCidr", "SubnetCidr1", "SubnetCidr2", "EcsPort", "SourceCidr")}
    parameters["VpcAvailabilityZones"] = {"Type": "CommaDelimitedList"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"AWS CloudFormation template to create resources required to run tasks "
                       f"on an ECS cluster ({launch_type or 'EC2'}), made by ecs-emulator up.",
        "Parameters": parameters,
        "Resources": resources,
        "Outputs": {"VpcId": {"Value": {"Ref": "Vpc"}},
                    "SubnetIds": {"Value": {"Fn::Join": [",", [{"Ref": "PubSubnetAz1"},
                                                              {"Ref": "PubSubnetAz2"}]]}}},
    }


def _subnet(index: int, cidr_parameter: str) -> dict:
    return {"Type": "AWS::EC2::Subnet", "Properties": {
        "VpcId": {"Ref": "Vpc"}, "CidrBlock": {"Ref": cidr_parameter},
        "AvailabilityZone": {"Fn::Select": [index, {"Ref": "VpcAvailabilityZones"}]},
        "MapPublicIpOnLaunch": True}}


def _association(subnet: str) -> dict:
    return {"Type": "AWS::EC2::SubnetRouteTableAssociation", "Properties": {
        "SubnetId": {"Ref": subnet}, "RouteTableId": {"Ref": "RouteViaIgw"}}}


def create_stack(conn, name: str, body: dict, parameters: dict[str, str]) -> dict[str, str]:
    """Create the stack, wait for it, and return its resources' physical ids by logical id."""
    cfn = conn.client("cloudformation")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps(body),
                     Parameters=[{"ParameterKey": k, "ParameterValue": v}
                                 for k, v in parameters.items()],
                     Tags=[{"Key": "created-by", "Value": "ecs-emulator"}])
    output.info("Waiting for your cluster resources to be created...")
    final = _wait(cfn, name, "CREATE_IN_PROGRESS")
    if final != "CREATE_COMPLETE":
        raise CliError(f"CloudFormation stack {name} ended in {final}")
    return physical_ids(conn, name)


def physical_ids(conn, name: str) -> dict[str, str]:
    resources = conn.client("cloudformation").describe_stack_resources(StackName=name)
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources["StackResources"]}


def stack_exists(conn, name: str) -> bool:
    return stack_status(conn.client("cloudformation"), name) not in (None, "DELETE_COMPLETE")


def stack_status(cfn, name: str) -> str | None:
    from botocore.exceptions import ClientError

    try:
        stacks = cfn.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0]["StackStatus"] if stacks else None


def delete_stack(conn, name: str) -> None:
    ids = physical_ids(conn, name)
    _release_network(conn.client("ec2"), ids)
    cfn = conn.client("cloudformation")
    cfn.delete_stack(StackName=name)
    output.info("Waiting for your cluster resources to be deleted...")
    final = _wait(cfn, name, "DELETE_IN_PROGRESS")
    if final not in (None, "DELETE_COMPLETE"):
        raise CliError(f"CloudFormation stack {name} ended in {final}")


def _release_network(ec2, ids: dict[str, str]) -> None:
    """Take apart what moto's CloudFormation cannot: route tables and the internet gateway."""
    from botocore.exceptions import ClientError

    vpc = ids.get("Vpc")
    route_table = ids.get("RouteViaIgw")
    try:
        if route_table:
            table = ec2.describe_route_tables(RouteTableIds=[route_table])["RouteTables"][0]
            for association in table.get("Associations") or []:
                if not association.get("Main"):
                    ec2.disassociate_route_table(
                        AssociationId=association["RouteTableAssociationId"])
            for route in table.get("Routes") or []:
                if route.get("GatewayId", "") != "local" and route.get("DestinationCidrBlock"):
                    ec2.delete_route(RouteTableId=route_table,
                                     DestinationCidrBlock=route["DestinationCidrBlock"])
            ec2.delete_route_table(RouteTableId=route_table)
        gateway = ids.get("InternetGateway")
        if gateway:
            if vpc:
                ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
            ec2.delete_internet_gateway(InternetGatewayId=gateway)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if not code.endswith(".NotFound") and "NotFound" not in code:
            raise


def _wait(cfn, name: str, in_progress: str) -> str | None:
    deadline = time.monotonic() + TIMEOUT_S
    shown = None
    while True:
        status = stack_status(cfn, name)
        if status != shown and status is not None:
            output.info("Cloudformation stack status", stackStatus=status)
            shown = status
        if status != in_progress or time.monotonic() > deadline:
            return status
        time.sleep(POLL_S)

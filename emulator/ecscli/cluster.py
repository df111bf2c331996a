"""`up` and `down`, as the ECS CLI has them: a cluster and its CloudFormation stack of networking.

    ecs-emulator up --cluster-config tutorial        # cluster + VPC + two public subnets
    ecs-emulator down --force --cluster-config tutorial
"""

from __future__ import annotations

import sys

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.ecscli import stack as stacks
from emulator.ecscli.config import cluster_context

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ("10.0.0.0/24", "10.0.1.0/24")


def up(args) -> int:
    ctx = cluster_context(args)
    conn = ctx.conn
    if stacks.stack_exists(conn, ctx.stack_name):
        if not args.force:
            raise CliError(f"A CloudFormation stack already exists for the cluster "
                           f"'{ctx.cluster}'. Please specify '--force' to clean up your existing "
                           "resources")
        stacks.delete_stack(conn, ctx.stack_name)
    conn.client("ecs").create_cluster(clusterName=ctx.cluster)
    output.info("Created cluster", cluster=ctx.cluster, region=ctx.region)
    if args.empty:
        return 0
    if args.vpc or args.subnets:
        if not (args.vpc and args.subnets):
            raise CliError("You must specify both --vpc and --subnets")
        print("Using VPC:", args.vpc)
        print("Cluster creation succeeded.")
        return 0
    ec2 = (ctx.launch_type or "EC2") == "EC2"
    if ec2:
        output.info("EC2 instances are not launched: the local Docker host serves the cluster's "
                    "EC2 tasks")
    ids = stacks.create_stack(conn, ctx.stack_name, stacks.template(ctx.launch_type, ec2), {
        "VpcCidr": VPC_CIDR, "SubnetCidr1": SUBNET_CIDRS[0], "SubnetCidr2": SUBNET_CIDRS[1],
        "EcsPort": str(args.port), "SourceCidr": args.cidr,
        "VpcAvailabilityZones": ",".join(_zones(conn, args.azs)),
    })
    print(f"VPC created: {ids['Vpc']}")
    if "EcsSecurityGroup" in ids:
        print(f"Security Group created: {ids['EcsSecurityGroup']}")
    print(f"Subnet created: {ids['PubSubnetAz1']}")
    print(f"Subnet created: {ids['PubSubnetAz2']}")
    print("Cluster creation succeeded.")
    return 0


def _zones(conn, given: str | None) -> list[str]:
    if given:
        zones = [z.strip() for z in given.split(",") if z.strip()]
        if len(zones) != 2:
            raise CliError("You must specify 2 comma-separated availability zones with --azs")
        return zones
    found = conn.client("ec2").describe_availability_zones()["AvailabilityZones"]
    names = sorted(z["ZoneName"] for z in found if z.get("State", "available") == "available")
    if len(names) < 2:
        raise CliError(f"region {conn.region} has fewer than 2 availability zones; give --azs")
    return names[:2]


def down(args) -> int:
    ctx = cluster_context(args)
    if not args.force and not _confirmed():
        output.info("Aborting deletion of cluster", cluster=ctx.cluster)
        return 1
    conn = ctx.conn
    if stacks.stack_exists(conn, ctx.stack_name):
        stacks.delete_stack(conn, ctx.stack_name)
    else:
        output.warn("No CloudFormation stack found for the cluster", stack=ctx.stack_name)
    conn.client("ecs").delete_cluster(cluster=ctx.cluster)
    output.info("Deleted cluster", cluster=ctx.cluster)
    return 0


def _confirmed() -> bool:
    print("Are you sure you want to delete your cluster? [y/N]", end=" ", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")

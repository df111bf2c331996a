"""The command-line words of the ECS CLI's part: configure, up, down, compose [service] ...

Flags are the ECS CLI's. The cluster flags (--cluster-config, --cluster, --region, --ecs-profile,
--aws-profile) and --endpoint-url are accepted before or after a subcommand, as the tutorial
writes `compose --project-name tutorial service up --cluster-config tutorial`.
"""

from __future__ import annotations

import argparse

from emulator.ecscli import cluster, compose_service, compose_tasks, configure

_KEEP = argparse.SUPPRESS  # an absent flag must not overwrite one given at an outer level


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cluster-config", default=_KEEP,
                        help="the cluster configuration to use (default: the default one)")
    parser.add_argument("--cluster", "-c", default=_KEEP, help="the cluster name")
    parser.add_argument("--region", "-r", default=_KEEP, help="the AWS region")
    parser.add_argument("--ecs-profile", default=_KEEP, help="an ECS profile (~/.ecs/credentials)")
    parser.add_argument("--aws-profile", default=_KEEP, help="an AWS CLI profile")
    parser.add_argument("--endpoint-url", default=_KEEP,
                        help="the emulator's URL (default: AWS_ENDPOINT_URL or "
                             "http://127.0.0.1:4566)")


def add_parsers(commands) -> None:
    configure.add_parser(commands)
    _add_up(commands)
    down = commands.add_parser("down", help="delete the cluster and its CloudFormation stack")
    add_cluster_flags(down)
    down.add_argument("--force", "-f", action="store_true", help="do not ask for confirmation")
    down.set_defaults(handler=cluster.down)
    _add_compose(commands)


def _add_up(commands) -> None:
    up = commands.add_parser("up", help="create the cluster and a VPC with two public subnets")
    add_cluster_flags(up)
    up.add_argument("--launch-type", type=str.upper, choices=["EC2", "FARGATE"], default=_KEEP)
    up.add_argument("--force", action="store_true", help="recreate an existing stack")
    up.add_argument("--empty", "-e", action="store_true", help="only the cluster, no stack")
    up.add_argument("--vpc", help="use this VPC instead of creating one (with --subnets)")
    up.add_argument("--subnets", help="comma-separated subnet ids of --vpc")
    up.add_argument("--azs", help="two comma-separated availability zones for the subnets")
    up.add_argument("--port", type=int, default=80, help="security group port (EC2; default 80)")
    up.add_argument("--cidr", default="0.0.0.0/0", help="security group source CIDR (EC2)")
    for ignored in ("--keypair", "--size", "--instance-type", "--image-id", "--security-group",
                    "--instance-role", "--tags", "--extra-user-data"):
        up.add_argument(ignored, help="accepted; no EC2 instances are launched here")
    for ignored in ("--capability-iam", "--no-associate-public-ip-address", "--verbose"):
        up.add_argument(ignored, action="store_true", help="accepted; has no effect here")
    up.set_defaults(handler=cluster.up)


def _add_compose(commands) -> None:
    compose = commands.add_parser(
        "compose", help="run a docker-compose.yml (and ecs-params.yml) as tasks or a service")
    compose.add_argument("--file", "-f", action="append", default=_KEEP,
                         help="compose file (repeatable; default docker-compose.yml and "
                              "docker-compose.override.yml)")
    compose.add_argument("--project-name", "-p", default=_KEEP,
                         help="the project's name: the task definition family and service name "
                              "(default: the current directory's name)")
    compose.add_argument("--ecs-params", default=_KEEP,
                         help="ECS parameters file (default: ecs-params.yml if present)")
    compose.add_argument("--task-role-arn", default=_KEEP, help="the task's IAM role")
    compose.add_argument("--registry-creds", default=_KEEP, help="accepted; has no effect here")
    add_cluster_flags(compose)
    tasks = compose.add_subparsers(dest="compose_command", required=True)
    for name, help_text in (("create", "register the task definition"),
                            ("up", "run one task of the newest task definition"),
                            ("start", "run one task if none runs"),
                            ("ps", "list the project's tasks' containers"),
                            ("stop", "stop the project's tasks"),
                            ("down", "stop the project's tasks")):
        _task_command(tasks, name, help_text)
    scale = _task_command(tasks, "scale", "run or stop tasks until N run")
    scale.add_argument("count", type=int)
    _add_service(tasks)


def _task_command(subs, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subs.add_parser(name, help=help_text)
    _leaf_flags(parser)
    parser.set_defaults(handler=compose_tasks.run)
    return parser


def _leaf_flags(parser: argparse.ArgumentParser) -> None:
    add_cluster_flags(parser)
    parser.add_argument("--timeout", type=float, default=5.0,
                        help="minutes to wait for the running count to change (0: do not wait)")
    parser.add_argument("--launch-type", type=str.upper, choices=["EC2", "FARGATE"],
                        default=_KEEP)
    parser.add_argument("--create-log-groups", action="store_true",
                        help="create the awslogs log groups the compose file names")


def _add_service(subs) -> None:
    service = subs.add_parser("service", help="run the project as an ECS service")
    service.set_defaults(handler=compose_service.run)
    actions = service.add_subparsers(dest="service_command", required=True)
    for name, help_text in (("create", "register the task definition; create the service"),
                            ("up", "create or update the service, and start it"),
                            ("start", "desired count 1 if it is 0"),
                            ("stop", "desired count 0"),
                            ("ps", "list the service's containers"),
                            ("down", "stop and delete the service"),
                            ("rm", "stop and delete the service"),
                            ("delete", "stop and delete the service")):
        _service_command(actions, name, help_text)
    scale = _service_command(actions, "scale", "set the desired count")
    scale.add_argument("count", type=int)


def _service_command(subs, name: str, help_text: str) -> argparse.ArgumentParser:
    parser = subs.add_parser(name, help=help_text)
    _leaf_flags(parser)
    parser.add_argument("--force-deployment", action="store_true")
    parser.add_argument("--deployment-max-percent", type=int)
    parser.add_argument("--deployment-min-healthy-percent", type=int)
    parser.add_argument("--health-check-grace-period", type=int)
    parser.add_argument("--role")
    parser.add_argument("--scheduling-strategy", choices=["REPLICA", "DAEMON"])
    parser.add_argument("--tags", help="key1=value1,key2=value2")
    parser.set_defaults(handler=compose_service.run)
    return parser

"""`configure`, with the ECS CLI's words:

    ecs-emulator configure --cluster tutorial --default-launch-type FARGATE \\
        --config-name tutorial --region ap-southeast-2
    ecs-emulator configure default --config-name tutorial
    ecs-emulator configure profile --access-key KEY --secret-key SECRET --profile-name NAME
    ecs-emulator configure profile default --profile-name NAME
"""

from __future__ import annotations

from emulator.cli_commands import output
from emulator.cli_commands.connection import CliError
from emulator.ecscli import config


def run(args) -> int:
    sub = getattr(args, "configure_command", None)
    if sub == "default":
        config.set_default_config(args.config_name)
        output.info("Set default ECS CLI cluster configuration", configName=args.config_name)
        return 0
    if sub == "profile":
        return _profile(args)
    if not args.cluster:
        raise CliError("configure needs --cluster (the cluster name)")
    launch_type = args.default_launch_type.upper() if args.default_launch_type else None
    if launch_type and launch_type not in config.LAUNCH_TYPES:
        raise CliError(f"Supported launch types are EC2, FARGATE; got {args.default_launch_type}")
    path = config.save_cluster_config(args.config_name, args.cluster, args.region, launch_type,
                                      args.cfn_stack_name)
    output.info(f"Saved ECS CLI cluster configuration {args.config_name}.", file=str(path))
    return 0


def _profile(args) -> int:
    if getattr(args, "profile_command", None) == "default":
        config.set_default_profile(args.profile_name)
        output.info("Set default ECS Profile", profileName=args.profile_name)
        return 0
    if not (args.access_key and args.secret_key):
        raise CliError("configure profile needs --access-key and --secret-key")
    config.save_profile(args.profile_name, args.access_key, args.secret_key, args.session_token)
    output.info(f"Saved ECS CLI profile configuration {args.profile_name}.")
    return 0


def add_parser(commands) -> None:
    parser = commands.add_parser("configure", help="save a cluster configuration (~/.ecs/config)",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", "-c", help="the ECS cluster name")
    parser.add_argument("--region", "-r", help="the AWS region of the cluster")
    parser.add_argument("--config-name", default="default",
                        help="the name of this cluster configuration (default: default)")
    parser.add_argument("--default-launch-type", help="EC2 or FARGATE")
    parser.add_argument("--cfn-stack-name", help="the CloudFormation stack's name (default: "
                                                 "amazon-ecs-cli-setup-<cluster>)")
    parser.set_defaults(handler=run)
    subs = parser.add_subparsers(dest="configure_command")
    default = subs.add_parser("default", help="choose the default cluster configuration")
    default.add_argument("--config-name", required=True)
    profile = subs.add_parser("profile", help="save an ECS profile (~/.ecs/credentials)")
    profile.add_argument("--profile-name", default="default")
    profile.add_argument("--access-key")
    profile.add_argument("--secret-key")
    profile.add_argument("--session-token")
    profile_subs = profile.add_subparsers(dest="profile_command")
    profile_default = profile_subs.add_parser("default", help="choose the default ECS profile")
    profile_default.add_argument("--profile-name", required=True)

"""The command-line words of the everyday commands: status, ps, logs, exec, reset, spot-interrupt.

`ps` and `logs` are also the ECS CLI's (`ecs-cli ps`, `ecs-cli logs --task-id ID --follow`), so
they take its flags too.
"""

from __future__ import annotations

import argparse

from emulator.cli_commands import everyday
from emulator.ecscli.config import cluster_context
from emulator.ecscli.parsers import add_cluster_flags


def add_parsers(commands) -> None:
    status = commands.add_parser("status", help="is the emulator up; Docker; what it holds")
    add_cluster_flags(status)
    status.set_defaults(handler=_with_connection(everyday.status))

    ps = commands.add_parser("ps", help="the tasks' containers across clusters: state, "
                                        "ports, health")
    add_cluster_flags(ps)
    ps.add_argument("--all", "-a", action="store_true", help="include stopped tasks")
    ps.set_defaults(handler=_with_connection(everyday.ps, cluster_optional=True))

    logs = commands.add_parser("logs", help="a task's container output (CloudWatch Logs for "
                                            "awslogs, else Docker)")
    add_cluster_flags(logs)
    logs.add_argument("task", nargs="?", help="the task's id or ARN")
    logs.add_argument("--task-id", help="the task's id (the ECS CLI's flag)")
    logs.add_argument("--container", "--container-name", dest="container",
                      help="only this container (default: all of the task's)")
    logs.add_argument("--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("--timestamps", "-t", action="store_true", help="show timestamps (awslogs)")
    logs.add_argument("--since", type=int, help="only the last N minutes")
    logs.add_argument("--filter-pattern", help="a CloudWatch Logs filter pattern (awslogs)")
    logs.set_defaults(handler=_with_connection(everyday.logs, cluster_optional=True))

    exec_ = commands.add_parser("exec", help="run a command in a task's container "
                                             "(`exec TASK -- sh`)")
    add_cluster_flags(exec_)
    exec_.add_argument("task", help="the task's id or ARN")
    exec_.add_argument("--container", help="the container (default: the first running one)")
    exec_.add_argument("-i", "--interactive", action="store_true",
                       help="pass this command's stdin to the command, as `docker exec -i` "
                            "(`exec -i TASK -- sh < script.sh`)")
    exec_.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")
    exec_.set_defaults(handler=_flags_before_dashes(
        exec_, _with_connection(everyday.exec_command, cluster_optional=True)))

    reset = commands.add_parser("reset", help="drop all state: tasks stop, everything is gone")
    add_cluster_flags(reset)
    reset.set_defaults(handler=_with_connection(everyday.reset))

    spot = commands.add_parser("spot-interrupt",
                               help="interrupt a FARGATE_SPOT task, as a Spot reclaim does")
    add_cluster_flags(spot)
    spot.add_argument("task", help="the task's id or ARN")
    spot.add_argument("--warning-seconds", type=int,
                      help="seconds between SIGTERM and SIGKILL (default: the emulator's, 120, "
                           "or the containers' stopTimeout if shorter)")
    spot.set_defaults(handler=_with_connection(everyday.spot_interrupt, cluster_optional=True))


def _flags_before_dashes(parser: argparse.ArgumentParser, handler):
    """`exec TASK --container C -- CMD`: argparse's REMAINDER takes everything after TASK as
    the command, flags included, so the flags between TASK and `--` are parsed here. Without
    `--`, or when what follows TASK is not a flag (`exec TASK sh -c ...`), all of it is the
    command, as before."""
    def run(args) -> int:
        cmd = list(args.cmd)
        if cmd and cmd[0].startswith("-") and cmd[0] != "--" and "--" in cmd:
            at = cmd.index("--")
            parser.parse_args([*cmd[:at], args.task], namespace=args)
            args.cmd = cmd[at:]
        return handler(args)
    return run


def _with_connection(command, cluster_optional: bool = False):
    """Run `command(args, conn)`; a cluster is only chosen when a flag names one."""
    def handler(args) -> int:
        ctx = cluster_context(args, own_command=True)
        if cluster_optional:
            named = getattr(args, "cluster", None) or (
                ctx.cluster if getattr(args, "cluster_config", None) else None)
            args.cluster = named
        return command(args, ctx.conn)
    return handler

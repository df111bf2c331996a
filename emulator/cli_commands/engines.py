"""`ecs-emulator engines`: the Docker Engines of a running emulator, and `engines add NAME
DOCKER_HOST` to add one while it runs (the control endpoint of emulator/engine_routes.py)."""

from __future__ import annotations

from emulator.cli_commands import output
from emulator.ecscli.config import cluster_context
from emulator.ecscli.parsers import add_cluster_flags

PATH = "/_emulator/engines"


def add_parsers(commands) -> None:
    engines = commands.add_parser("engines", help="the Docker Engines tasks run on; "
                                                  "`engines add NAME DOCKER_HOST` adds one")
    add_cluster_flags(engines)
    words = engines.add_subparsers(dest="engines_command")
    add = words.add_parser("add", help="add a Docker Engine while the emulator runs")
    add_cluster_flags(add)
    add.add_argument("name", help="its name (the emulator's own is 'default')")
    add.add_argument("docker_host", help="its address, as DOCKER_HOST takes it "
                                         "(unix://..., tcp://..., ssh://...)")
    engines.set_defaults(handler=_handler(list_engines))
    add.set_defaults(handler=_handler(add_engine))


def _handler(command):
    def handler(args) -> int:
        return command(args, cluster_context(args).conn)
    return handler


def list_engines(args, conn) -> int:
    answer = conn.control("GET", PATH)
    output.table(["NAME", "DOCKER_HOST", "ZONE", "ANSWERS"],
                 [[e["name"], e["dockerHost"], e["zone"], "yes" if e["answering"] else "no"]
                  for e in answer["engines"]])
    return 0


def add_engine(args, conn) -> int:
    answer = conn.control("POST", PATH, {"name": args.name, "dockerHost": args.docker_host})
    output.info("Docker Engine added: a container instance of each cluster at its next EC2 "
                "placement", name=answer["name"], dockerHost=answer["dockerHost"],
                zone=answer["zone"])
    return 0

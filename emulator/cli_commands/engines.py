"""`ecs-emulator engines`: the Docker Engines of a running emulator; `engines add NAME
DOCKER_HOST [--tlsverify] [--cert-path DIR] [--registry HOST:PORT]` adds one while it runs and
`engines remove NAME [--force]` removes one (the control endpoint of emulator/engine_routes.py)."""

from __future__ import annotations

import os
from urllib.parse import quote

from emulator.cli_commands import output
from emulator.ecscli.config import cluster_context
from emulator.ecscli.parsers import add_cluster_flags

PATH = "/_emulator/engines"


def add_parsers(commands) -> None:
    engines = commands.add_parser("engines", help="the Docker Engines tasks run on; "
                                                  "`engines add NAME DOCKER_HOST` adds one, "
                                                  "`engines remove NAME` removes one")
    add_cluster_flags(engines)
    words = engines.add_subparsers(dest="engines_command")
    add = words.add_parser("add", help="add a Docker Engine while the emulator runs")
    add_cluster_flags(add)
    add.add_argument("name", help="its name (the emulator's own is 'default')")
    add.add_argument("docker_host", help="its address, as DOCKER_HOST takes it "
                                         "(unix://..., tcp://..., ssh://...)")
    add.add_argument("--tlsverify", action="store_true",
                     help="TLS, verifying the engine's certificate by ca.pem (as docker's "
                          "--tlsverify / DOCKER_TLS_VERIFY)")
    add.add_argument("--cert-path", metavar="DIR",
                     help="the directory of ca.pem, cert.pem and key.pem (as DOCKER_CERT_PATH)")
    add.add_argument("--registry", metavar="HOST:PORT",
                     help="the address this engine pulls the emulator's ECR images from "
                          "(default: ECS_EMULATOR_REGISTRY_ADDRESS, else 127.0.0.1:PORT)")
    remove = words.add_parser("remove", help="remove a Docker Engine while the emulator runs: "
                                             "its container instances are deregistered")
    add_cluster_flags(remove)
    remove.add_argument("name", help="the engine's name (not 'default')")
    remove.add_argument("--force", action="store_true",
                        help="stop the tasks still on it (services replace them on the other "
                             "engines); without it, tasks on the engine refuse the removal")
    engines.set_defaults(handler=_handler(list_engines))
    add.set_defaults(handler=_handler(add_engine))
    remove.set_defaults(handler=_handler(remove_engine))


def _handler(command):
    def handler(args) -> int:
        return command(args, cluster_context(args, own_command=True).conn)
    return handler


def list_engines(args, conn) -> int:
    answer = conn.control("GET", PATH)
    output.table(["NAME", "DOCKER_HOST", "ZONE", "ANSWERS", "TLS"],
                 [[e["name"], e["dockerHost"], e["zone"], "yes" if e["answering"] else "no",
                   _tls(e)] for e in answer["engines"]])
    return 0


def _tls(engine: dict) -> str:
    if "tlsVerify" not in engine:
        return "-"
    return "verify" if engine["tlsVerify"] else "no-verify"


def add_engine(args, conn) -> int:
    body = {"name": args.name, "dockerHost": args.docker_host}
    if args.tlsverify:
        body["tlsVerify"] = True
    if args.cert_path:
        body["certPath"] = os.path.abspath(args.cert_path)  # the emulator has its own cwd
    if args.registry:
        body["registryAddress"] = args.registry
    answer = conn.control("POST", PATH, body)
    output.info("Docker Engine added: a container instance of each cluster at its next EC2 "
                "placement", name=answer["name"], dockerHost=answer["dockerHost"],
                zone=answer["zone"])
    return 0


def remove_engine(args, conn) -> int:
    path = f"{PATH}/{quote(args.name, safe='')}" + ("?force=true" if args.force else "")
    answer = conn.control("DELETE", path)
    output.info("Docker Engine removed: its container instances are INACTIVE",
                name=answer["name"], dockerHost=answer["dockerHost"])
    return 0

"""The `ecs-emulator` command. `serve` (the default) runs the server in the foreground."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from emulator import __version__
from emulator.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    command = args.command or "serve"
    if command == "serve":
        return _serve(args)
    parser.error(f"unknown command {command}")
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-emulator", description="A local emulator of Amazon ECS, ECR and Fargate."
    )
    parser.add_argument("--version", action="version", version=f"ecs-emulator {__version__}")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the emulator (the default command)")
    _add_serve_options(serve)
    _add_serve_options(parser)
    return parser


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port to listen on (default 4566)")
    parser.add_argument("--quiet", action="store_true", help="do not log each API call")


def _serve(args) -> int:
    from emulator.app import create_app
    from emulator.server import EmulatorServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings.from_env(
        host=args.host, port=args.port, log_requests=False if args.quiet else True
    )
    emulator = create_app(settings)
    server = EmulatorServer(emulator, settings.host, settings.port)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

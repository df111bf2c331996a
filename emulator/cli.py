"""The `ecs-emulator` command. `serve` (the default) runs the server in the foreground.

`ecs-emulator --port 4566`, `ecs-emulator serve --port 4566` and `python -m emulator --port 4566`
are the same. Every flag has an environment variable (emulator/config.py); a flag wins.
SIGTERM and SIGINT stop the server cleanly: containers of tasks are removed and the process exits 0.
`serve` logs one line per API call and one per task state change (quiet with --quiet).

The other commands are clients of a running emulator (emulator/cli_commands/: status, ps, logs,
exec, reset, spot-interrupt; emulator/ecscli/: the ECS CLI's configure, up, down, compose).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

from emulator import __version__

if TYPE_CHECKING:
    from emulator.config import Settings  # imported by _settings(): see _serve()

# The words of `serve` and the options it takes before or after it. A command line made only of
# these needs no client command's parser: importing those (urllib, Docker access, the ECS CLI's
# YAML) would cost the server a good part of its start-up.
_SERVE_WORDS = {"serve", "--quiet"}
_SERVE_VALUED = {"--host", "--port"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    serve_only = _serve_only(argv)
    if serve_only:
        # No cyclic garbage collection while the server is imported and built (see _serve).
        gc.disable()
    try:
        parser = _parser(clients=not serve_only)
        args = parser.parse_args(argv)
        command = args.command or "serve"
        if command == "serve":
            return _serve(args)
    finally:
        gc.enable()  # a start-up that failed too: an in-process caller keeps its collector
    misplaced = _serve_options_before(argv, command)
    if misplaced:
        # Given before a client command they were parsed and ignored: `ecs-emulator --port 4600
        # status` asked the emulator on 4566.
        port = misplaced.get("--port") or "PORT"
        parser.error(f"{', '.join(misplaced)}: serve's options; `{command}` reaches the emulator "
                     f"at --endpoint-url or AWS_ENDPOINT_URL (`ecs-emulator {command} "
                     f"--endpoint-url http://127.0.0.1:{port}`)")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.parse_args([command, "--help"])
        return 2
    return _run_client(handler, args)


def _run_client(handler, args) -> int:
    """Run a client command; failures print one line (as the ECS CLI's ERRO lines) and exit 1."""
    from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

    from emulator.cli_commands import output
    from emulator.cli_commands.connection import (
        CliError, client_error_line, endpoint_from, unreachable)

    try:
        return handler(args)
    except CliError as error:
        output.error(str(error))
    except EndpointConnectionError as error:
        output.error(unreachable(endpoint_from(args), error))
    except ClientError as error:
        output.error(client_error_line(endpoint_from(args), error))
    except BotoCoreError as error:
        output.error(str(error))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_gone()
    return 1


def _reader_gone() -> int:
    """`ecs-emulator ps | head -1`: the reader closed the pipe. Quiet, as a Unix tool killed by
    SIGPIPE is (Python turns it into an exception, and its flush of stdout at exit would write a
    second traceback), with that tool's exit status, 128 + SIGPIPE."""
    try:
        stdout = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # a stand-in of no descriptor (io.StringIO...)
        return 141  # (nothing of ours flushes to the pipe at exit)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stdout)
    os.close(devnull)
    return 141


def _serve_only(argv: list[str]) -> bool:
    """True when argv can only mean `serve` (no other command, no --help or --version)."""
    words = iter(argv)
    for word in words:
        if word in _SERVE_VALUED:
            next(words, None)
        elif word not in _SERVE_WORDS and word.split("=", 1)[0] not in _SERVE_VALUED:
            return False
    return True


def _serve_options_before(argv: list[str], command: str) -> dict[str, str]:
    """serve's options (and their values) given before another command's word."""
    words = iter(argv[:argv.index(command)] if command in argv else [])
    given = {}
    for word in words:
        name, _, value = word.partition("=")
        if name in _SERVE_VALUED:
            given[name] = value or next(words, "")
        elif name == "--quiet":
            given[name] = ""
    return given


def _parser(clients: bool = True) -> argparse.ArgumentParser:
    """The command line; `clients=False` leaves the client commands out (a plain `serve`)."""
    parser = argparse.ArgumentParser(
        prog="ecs-emulator", description="A local emulator of Amazon ECS, ECR and Fargate."
    )
    parser.add_argument("--version", action="version", version=f"ecs-emulator {__version__}")
    _add_serve_options(parser)
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the emulator (the default command)")
    _add_serve_options(serve)
    if clients:
        from emulator.cli_commands import engines as engines_parsers
        from emulator.cli_commands import parsers as everyday_parsers
        from emulator.ecscli import parsers as ecscli_parsers

        everyday_parsers.add_parsers(commands)
        engines_parsers.add_parsers(commands)
        ecscli_parsers.add_parsers(commands)
    return parser


def _port(raw: str) -> int:
    from emulator.config import port_number

    try:
        return port_number(raw, "--port")
    except ValueError as error:  # (argparse's own words would be "invalid _port value")
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: an option absent from the subcommand must not overwrite the same option given
    # before it (`ecs-emulator --port 5000 serve`), which a plain default of None would do.
    keep = argparse.SUPPRESS
    parser.add_argument("--host", default=keep,
                        help="address to listen on (default 127.0.0.1; ECS_EMULATOR_HOST)")
    parser.add_argument("--port", type=_port, default=keep,
                        help="port to listen on (default 4566; ECS_EMULATOR_PORT)")
    parser.add_argument("--quiet", action="store_true", default=keep,
                        help="do not log each API call")


def _settings(args) -> Settings:
    from emulator.config import Settings

    quiet = getattr(args, "quiet", False)
    return Settings.from_env(
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
        log_requests=False if quiet else True,
    )


def _json_target_prefixes() -> set[str]:
    """The X-Amz-Target prefixes of the services the router serves (and logs) itself."""
    from api_shapes import load_service

    return {load_service(name).target_prefix for name in ("ecs", "ecr")}


class _Stop(BaseException):
    """Raised in the main thread by SIGTERM or SIGINT, to leave the server's loop.

    A BaseException, as KeyboardInterrupt is: cheroot's loop logs and swallows any Exception.
    """


def _on_signal(signum, _frame):
    raise _Stop(signal.Signals(signum).name)


def _serve(args) -> int:
    from emulator import dataclass_code

    # The start-up's dataclasses (the settings', the emulator modules') take their methods'
    # code from the last start's (emulator/dataclass_code.py): compiling it was nearly a third
    # of the start-up's instructions.
    with dataclass_code.cached() as codes:
        built = _build(args)
        # (only a start that got its server keeps what it compiled: one that failed used few)
        codes.complete = not isinstance(built, int)
    if isinstance(built, int):
        return built
    settings, server = built
    # The start-up leaves some 50,000 objects that the collector tracks, nearly all for good
    # (modules, classes, functions, the service models), and it would go over them again and
    # again as they pile up: about a tenth of the start-up's CPU (scripts/bench/README.md).
    # Collection is off since main(); what was made so far is set aside for good (gc.freeze:
    # later collections pass it over too; the start-up's own garbage, some 130 KiB of cycles,
    # stays with it) and collection comes back on for what follows.
    gc.freeze()
    gc.enable()
    from emulator.engine.engine_identity import DuplicateEngine  # (loaded with the emulator)
    from emulator.front_doors import PortTaken

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    try:
        server.serve_forever()
    except PortTaken as error:  # (it names its own port)
        print(f"ecs-emulator: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"ecs-emulator: cannot listen on {settings.host}:{settings.port}: {error}",
              file=sys.stderr)
        return 1
    except DuplicateEngine as error:  # ECS_EMULATOR_ENGINES names one daemon twice
        print(f"ecs-emulator: ECS_EMULATOR_ENGINES: {error}", file=sys.stderr)
        return 2
    except (_Stop, KeyboardInterrupt):
        pass
    finally:
        # A second signal must not cut the clean-up short (containers would leak).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        logging.getLogger(__name__).info("stopping")
        server.stop()
    return 0


def _build(args):
    """(settings, the server ready to serve), or the exit code of a start that cannot be."""
    from emulator.early_listener import open_listener

    try:
        settings = _settings(args)  # a setting in error stops us here, before anything listens
    except ValueError as error:  # (it names the setting and what is wrong)
        print(f"ecs-emulator: {error}", file=sys.stderr)
        return 1
    # Listening before the emulator's modules are imported (most of the start-up): a client
    # that finds the port open sends its call, and it is answered once we are ready.
    try:
        # Under socket activation (LISTEN_PID) cheroot serves the socket it was handed.
        listener = None if os.environ.get("LISTEN_PID") else open_listener(
            settings.host, settings.port)
    except OSError as error:  # the address is taken or not ours
        print(f"ecs-emulator: cannot listen on {settings.host}:{settings.port}: {error}",
              file=sys.stderr)
        return 1
    from emulator.data_lock import DataDirectoryRefused

    try:
        return settings, _server(settings, listener)
    except BaseException as error:
        if listener is not None:
            listener.close()
        if isinstance(error, DataDirectoryRefused):  # (it names the directory and why)
            print(f"ecs-emulator: {error}", file=sys.stderr)
            return 1
        raise


def _server(settings: Settings, listener):
    from emulator.app import create_app
    from emulator.cli_commands.serve_logging import RequestLog, configure_logging
    from emulator.server import EmulatorServer

    handler = configure_logging()
    emulator = create_app(settings)
    if settings.log_requests:
        emulator.wsgi.request_line = handler.api_line
        emulator.wsgi = RequestLog(emulator.wsgi, _json_target_prefixes())
    return EmulatorServer(emulator, settings.host, settings.port, listening_socket=listener)


if __name__ == "__main__":
    sys.exit(main())

"""The pytest plugin (entry point `pytest11`), loaded whenever the package is installed.

Fixtures:
- `ecs_emulator_settings` (session): the Settings the session's emulator starts with
  (`isolated_settings()`: from the environment, on a free port of 127.0.0.1, strict responses, and
  never persisted nor on a data directory, whatever the environment says: those are the user's
  own emulator's); a conftest may override it.
- `ecs_emulator` (session): an emulator serving on a free port of 127.0.0.1 in a background
  thread; a handle with `endpoint_url`, `front_door_url` (where Express services and gateway
  routes answer), `client(service)`, `reset()`, `control_headers`.
- `clean_emulator` (function): the same handle, with all state dropped before the test.

`running_emulator(settings)` starts one more for a test module that needs other settings.

Clients made by the handle check every ECS response against botocore's output shape, and every
error against AWS's error form, and fail the call if one does not fit.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from dataclasses import replace
from typing import Iterator

import pytest

from emulator.config import Settings

_SHAPE_CHECKED = {"ecs": "ecs", "ecr": "ecr"}


class EmulatorHandle:
    def __init__(self, server, region: str = "us-east-1"):
        self._server = server
        self.emulator = server.emulator
        self.region = region
        self.endpoint_url = f"http://127.0.0.1:{server.port}"

    def client(self, service: str, *, region: str | None = None, account: str | None = None,
               check_shapes: bool = True, **config):
        """A boto3 client for `service` aimed at the emulator (credentials need not be real).

        `account` picks the account: a 12-digit access key id is taken as the account id.
        `aws_access_key_id` and `aws_secret_access_key` (and `aws_session_token`) sign as an IAM
        user or role instead (for ECS_EMULATOR_ENFORCE_IAM).
        """
        import boto3

        client = boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=config.pop("aws_access_key_id", None) or account or "testing",
            aws_secret_access_key=config.pop("aws_secret_access_key", None) or "testing",
            **config,
        )
        if check_shapes and service in _SHAPE_CHECKED:
            _check_shapes_of(client, _SHAPE_CHECKED[service])
        return client

    @property
    def front_door_url(self) -> str:
        """Where Express services and gateway routes answer (emulator/front_doors.py)."""
        return f"http://127.0.0.1:{self._server.front_doors.port}"

    def reset(self) -> None:
        self.emulator.reset()

    @property
    def control_headers(self) -> dict[str, str]:
        """What a control call over HTTP sends where the control token is asked for
        (ECS_EMULATOR_CONTROL_TOKEN; access/control_token.py)."""
        from emulator.access.control_token import HEADER

        return {HEADER: self.emulator.control_token.value}


def _check_shapes_of(client, model_name: str) -> None:
    from api_shapes import load_service
    from api_shapes.conformance import problem_with

    shapes = load_service(model_name)

    def check(operation_model, response_dict, **_):
        problem = problem_with(
            shapes,
            operation_model.name,
            response_dict["status_code"],
            dict(response_dict["headers"]),
            response_dict["body"],
        )
        if problem:
            raise AssertionError(f"the emulator's response is malformed: {problem}")

    client.meta.events.register(f"before-parse.{client.meta.service_model.service_id.hyphenize()}", check)


def start_server(settings: Settings):
    from emulator.app import create_app
    from emulator.server import EmulatorServer

    server = EmulatorServer(create_app(settings), settings.host, settings.port)
    try:
        server.start()
    except BaseException:
        server.stop()  # what started before the failure (the data directory's lock too)
        raise
    return server


@contextlib.contextmanager
def running_emulator(settings: Settings) -> Iterator[EmulatorHandle]:
    """An emulator serving with `settings` until the block ends; its handle."""
    server = start_server(settings)
    try:
        yield EmulatorHandle(server, region=settings.default_region)
    finally:
        server.stop()


# What a user's own running emulator holds, which their exported ECS_EMULATOR_* variables name
# for it: its state (a test's reset would empty its registry, overwrite its saved state and
# remove its tasks' containers), its host and ports, and the registry address and extra Docker
# Engines it told (whose `registry=` names its port, so tasks would pull from it). A test
# session's emulator leaves them unread (a value in error fails nothing); a conftest that wants
# one says so in its own `ecs_emulator_settings` (README: Quick start: pytest).
_USERS_PLACES = {"ECS_EMULATOR_PERSIST": "persist", "ECS_EMULATOR_DATA_DIR": "data_dir",
                 "ECS_EMULATOR_HOST": "host", "ECS_EMULATOR_PORT": "port",
                 "ECS_EMULATOR_FRONT_DOOR_PORT": "front_door_port",
                 "ECS_EMULATOR_REGISTRY_ADDRESS": "registry_address",
                 "ECS_EMULATOR_ENGINES": "engines"}
_REGISTRY = "ECS_EMULATOR_REGISTRY_ADDRESS"
_warned: set[str] = set()


def isolated_settings(**overrides) -> Settings:
    """The settings of a test session's emulator: the environment's (region, account, timings,
    task network, IAM...), on a free port of 127.0.0.1, strict responses, apart from the
    user's own emulator (_USERS_PLACES, each set one warned of once); then `overrides`."""
    from emulator.config import set_in_environment

    given = set_in_environment(_USERS_PLACES)
    # Only a :port names an emulator's port: a bare host name is where the engines reach this
    # host's registry (Docker-in-Docker, a remote engine in CI), the session's as much as any.
    kept = {_REGISTRY} if _REGISTRY in given and not _names_a_port(given[_REGISTRY]) else set()
    for name in sorted(given.keys() - kept - _warned):
        _warned.add(name)
        warnings.warn(
            f"{name} is set, and the pytest plugin's emulator ignores it (it names your own "
            f"emulator's); to use it in tests, return dataclasses.replace("
            f"ecs_emulator_settings, {_USERS_PLACES[name]}=...) from an ecs_emulator_settings "
            "fixture in your conftest.py", UserWarning, stacklevel=2)
    settings = Settings.from_env(unread=_USERS_PLACES.keys() - kept)
    settings = replace(settings, host="127.0.0.1", port=0, strict_responses=True,
                       persist=False, data_dir=None, front_door_port=None, engines=())
    return replace(settings, **overrides)


def _names_a_port(address: str) -> bool:
    return re.search(r":\d+$", address) is not None  # ("[::1]" ends in "]": no port)


@pytest.fixture(scope="session")
def ecs_emulator_settings() -> Settings:
    return isolated_settings()


@pytest.fixture(scope="session")
def ecs_emulator(ecs_emulator_settings):
    with running_emulator(ecs_emulator_settings) as handle:
        yield handle


@pytest.fixture
def clean_emulator(ecs_emulator):
    ecs_emulator.reset()
    return ecs_emulator

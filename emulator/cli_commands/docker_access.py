"""The Docker side of a task, seen from the CLI: its containers carry the labels
ecs-emulator.task-arn and ecs-emulator.container-name, which is all the CLI needs to find them.

`exec` runs `docker exec` (interactive with a TTY when both ends are terminals, with stdin when it
is a pipe or a file); without the docker command it falls back to the Docker SDK, without a TTY
or stdin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from emulator.cli_commands.connection import CliError
from emulator.runtime.labels import CONTAINER_NAME, TASK_ARN


def docker_client():
    import docker
    from docker.errors import DockerException

    try:
        return docker.from_env()
    except DockerException as error:
        raise CliError(f"cannot reach Docker: {error}") from None


def task_container(task_arn: str, container_name: str):
    """The Docker container of one task's container (as Docker's list shows it), or None once
    it is removed."""
    # sparse: the list's entries as they are. Without it docker-py inspects each listed
    # container, and one removed in between (the task stopping) raises NotFound.
    found = docker_client().containers.list(all=True, sparse=True, filters={
        "label": [f"{TASK_ARN}={task_arn}", f"{CONTAINER_NAME}={container_name}"]})
    return found[0] if found else None


def exec_in(container, command: list[str], interactive: bool | None = None) -> int:
    if not command:
        raise CliError("give the command to run after --, e.g. `exec TASK -- sh`")
    if interactive is None:
        interactive = all(stream is not None and stream.isatty()  # None: closed at start
                          for stream in (sys.stdin, sys.stdout))
    docker = shutil.which("docker")
    if docker:
        flags = ["-it"] if interactive else ["-i"] if _stdin_is_data() else []
        return subprocess.call([docker, "exec", *flags, container.id, *command])
    api = container.client.api
    exec_id = api.exec_create(container.id, command)["Id"]
    for chunk in api.exec_start(exec_id, stream=True):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    return int(api.exec_inspect(exec_id).get("ExitCode") or 0)


def _stdin_is_data() -> bool:
    """A pipe or a file on stdin (`ecs-emulator exec T -- sh < script.sh`, `... | exec T -- cat`)
    is meant for the command, as `docker exec -i` passes it; a terminal without one on stdout
    (`exec T -- ps | grep x`) is not, and stays the caller's."""
    try:
        os.fstat(0)  # the descriptor `docker exec` inherits (sys.stdin may be a stand-in)
    except OSError:  # closed
        return False
    return not os.isatty(0)

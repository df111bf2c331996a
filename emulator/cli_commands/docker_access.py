"""The Docker side of a task, seen from the CLI: its containers carry the labels
ecs-emulator.task-arn and ecs-emulator.container-name, which is all the CLI needs to find them.

`exec` runs `docker exec` (interactive with a TTY when both ends are terminals); without the
docker command it falls back to the Docker SDK, without a TTY.
"""

from __future__ import annotations

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
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    docker = shutil.which("docker")
    if docker:
        flags = ["-it"] if interactive else []
        return subprocess.call([docker, "exec", *flags, container.id, *command])
    api = container.client.api
    exec_id = api.exec_create(container.id, command)["Id"]
    for chunk in api.exec_start(exec_id, stream=True):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    return int(api.exec_inspect(exec_id).get("ExitCode") or 0)

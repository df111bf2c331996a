"""The Docker side of a task, seen from the CLI: its containers carry the labels
ecs-emulator.task-arn and ecs-emulator.container-name, which is all the CLI needs to find them.

`exec` runs `docker exec`: interactive with a TTY when both ends are terminals, and given the
caller's stdin only with -i (as `docker exec -i`: `docker exec` reads a stdin it is given at once,
so passing every pipe made `while read t; do ecs-emulator exec "$t" -- hostname; done < tasks.txt`
run once, and an open pipe that never ends kept `exec T -- sh` waiting). Without the docker command
it falls back to the Docker SDK, without a TTY, and refuses -i rather than drop the stdin.
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


def exec_in(container, command: list[str], stdin: bool = False) -> int:
    """Run `command` in the container; its exit code. `stdin`: -i was given."""
    if not command:
        raise CliError("give the command to run after --, e.g. `exec TASK -- sh`")
    stdin = stdin and _stdin_open()
    docker = shutil.which("docker")
    if docker:
        terminal = _stdin_open() and os.isatty(0) and sys.stdout.isatty()
        flags = ["-it"] if terminal else ["-i"] if stdin else []
        return exit_status(subprocess.call([docker, "exec", *flags, container.id, *command]))
    if stdin:
        raise CliError("-i needs the docker command (the Docker SDK's exec passes no stdin here): "
                       "install the docker CLI, or run the command without -i")
    api = container.client.api
    exec_id = api.exec_create(container.id, command)["Id"]
    for chunk in api.exec_start(exec_id, stream=True):
        sys.stdout.buffer.write(chunk)
        sys.stdout.flush()
    return int(api.exec_inspect(exec_id).get("ExitCode") or 0)


def exit_status(returncode: int) -> int:
    """A child's return code as a shell's exit status: one killed by signal N (a negative code
    from subprocess) is 128 + N, not a negative number the process exit would wrap to 256 - N."""
    return 128 - returncode if returncode < 0 else returncode


def _stdin_open() -> bool:
    """Whether there is a stdin to pass (the descriptor `docker exec` inherits; sys.stdin may be
    a stand-in): none when the process started with it closed."""
    if sys.__stdin__ is None:
        return False
    try:
        os.fstat(0)
    except OSError:
        return False
    return True

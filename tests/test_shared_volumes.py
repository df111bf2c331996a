"""Shared-scope Docker volumes and EFS volumes, on real containers: shared by one account's
tasks, never another account's (engine/task_volumes.shared_name)."""

from __future__ import annotations

import pytest

from tests.test_task_metadata import output_of, register, run
from tests.waiting import wait_for_task

pytestmark = pytest.mark.docker

OTHER = "111111111111"
VOLUMES = [{"name": "vault", "dockerVolumeConfiguration": {"scope": "shared",
                                                          "autoprovision": True}},
           {"name": "fs", "efsVolumeConfiguration": {"fileSystemId": "fs-victim"}}]
MOUNTS = [{"sourceVolume": "vault", "containerPath": "/vault"},
          {"sourceVolume": "fs", "containerPath": "/fs"}]


def _task(ecs, cluster, image, script: str, docker_client) -> str:
    """Run `script` in a task with both volumes; what it printed, once it has stopped."""
    # It stays until stopped: a container that exited goes with its task, maybe before its
    # output is read.
    definition = register(ecs, {"name": "app", "image": image, "memory": 32, "stopTimeout": 2,
                                "command": ["sh", "-c", script + "; echo END; exec sleep 60"],
                                "mountPoints": MOUNTS}, family="vaults", volumes=VOLUMES)
    arn = run(ecs, cluster, definition)
    printed = output_of(docker_client, arn, "app", "END")
    ecs.stop_task(cluster=cluster, task=arn)
    wait_for_task(ecs, cluster, arn, "STOPPED")
    return printed


def test_an_accounts_shared_and_efs_volumes_are_its_own(clean_emulator, ecs, cluster,
                                                        busybox_image, docker_client):
    theirs = clean_emulator.client("ecs", account=OTHER)
    theirs.create_cluster(clusterName=cluster)
    _task(theirs, cluster, busybox_image, "echo secret > /vault/s; echo secret > /fs/s",
          docker_client)
    read = 'echo "<<$(cat /vault/s 2>/dev/null)|$(cat /fs/s 2>/dev/null)>>"'
    # The same account's tasks share them, as before; another account's see nothing of them.
    assert "<<secret|secret>>" in _task(theirs, cluster, busybox_image, read, docker_client)
    assert "<<|>>" in _task(ecs, cluster, busybox_image, read, docker_client)
    names = {v.name for v in docker_client.volumes.list()}
    assert {f"ecs-emulator-{OTHER}-vault", f"ecs-emulator-{OTHER}-efs-fs-victim"} <= names

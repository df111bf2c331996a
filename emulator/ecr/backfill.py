"""Replication backfills: images pushed before a destination joined the replication
configuration, sent there on request (StartReplicationBackfill). Ours completes before the call
returns, so it is never in progress and cannot be stopped."""

from __future__ import annotations

import uuid

from emulator.ecr import images, replication
from emulator.ecr.errors import (
    ReplicationBackfillInvalidStatusException,
    ReplicationBackfillNotFoundException,
    ValidationException,
)
from emulator.ecr.model import Backfill, BackfillResult


def start(store, destination: dict) -> Backfill:
    wanted = (destination["region"], destination["registryId"])
    if not any((d["region"], d["registryId"]) == wanted
               for rule in store.replication_rules for d in rule["destinations"]):
        raise ValidationException(
            f"The destination {destination['registryId']} in {destination['region']} is not in "
            "the registry's replication configuration."
        )
    repositories = [
        repository for name, repository in sorted(store.repositories.items())
        if any((d["region"], d["registryId"]) == wanted
               for _, d in replication.destinations_for(store, name))
    ]
    results = []
    for repository in repositories:
        for image in images.all_of(store, repository):
            status = "COMPLETE" if replication.copy_to(store, image, destination) else "FAILED"
            results += [BackfillResult(repository.name, status, image.digest, tag)
                        for tag in image.tags or (None,)]
    backfill = Backfill(str(uuid.uuid4()), dict(destination), results)
    store.backfills[backfill.backfill_id] = backfill
    return backfill


def get(store, backfill_id: str) -> Backfill:
    backfill = store.backfills.get(backfill_id)
    if backfill is None:
        raise ReplicationBackfillNotFoundException(
            f"The replication backfill {backfill_id} does not exist in the registry with id "
            f"'{store.account}'."
        )
    return backfill


def stop(store, backfill_id: str) -> None:
    """Always refused: a backfill of ours is complete before anyone can stop it."""
    backfill = get(store, backfill_id)
    raise ReplicationBackfillInvalidStatusException(
        f"The replication backfill {backfill.backfill_id} is {backfill.status} and cannot be "
        "stopped."
    )


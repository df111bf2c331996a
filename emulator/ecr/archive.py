"""ECR's storage classes and pull-time exclusions: what UpdateImageStorageClass and the
*PullTimeUpdateExclusion operations change, and how pulls and listings honour it.

An image is ACTIVE (standard storage), ARCHIVED (archival storage: still described and listed
when asked for, never pulled: the registry answers 404 as ECR does), or ACTIVATING (being
restored; pulls are still refused) until `Settings.ecr_restore_s` has passed. The status is a
function of the record and the clock, so nothing needs to advance it. Pushing an archived image
again restores it at once, as the ECR user guide says.

A pull by a principal on the registry's exclusion list records no lastRecordedPullTime. The
principal is the caller's IAM identity (moto's STS GetCallerIdentity; an assumed role counts as
its role), carried in the authorization token for `docker pull`.
"""

from __future__ import annotations

import datetime as dt
import re

from emulator.ecr.errors import (
    ExclusionAlreadyExistsException,
    ExclusionNotFoundException,
    ImageStorageClassUpdateNotSupportedException,
    InvalidParameterException,
)
from emulator.ecr.images import Image
from emulator.ecr.model import ImageRecord, utcnow

ACTIVE, ARCHIVED, ACTIVATING = "ACTIVE", "ARCHIVED", "ACTIVATING"
# arn:aws:sts::123456789012:assumed-role/Role/session -> the role's IAM ARN
# PrincipalArn's pattern in the model (our shape parser checks no patterns)
_PRINCIPAL = re.compile(r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$")
_ASSUMED_ROLE = re.compile(r"^arn:([^:]+):sts::(\d{12}):assumed-role/(.+)/[^/]+$")


def status(record: ImageRecord, now: dt.datetime | None = None) -> str:
    if record.archived:
        return ARCHIVED
    if record.activating_until is not None and (now or utcnow()) < record.activating_until:
        return ACTIVATING
    return ACTIVE


def pullable(record: ImageRecord) -> bool:
    return status(record) == ACTIVE


def keeps(record: ImageRecord, status_filter: str | None) -> bool:
    """DescribeImages' and ListImages' imageStatus filter: without one, ACTIVE images only."""
    wanted = status_filter or ACTIVE
    return wanted == "ANY" or status(record) == wanted


def transition(store, image: Image, target: str) -> str:
    """UpdateImageStorageClass: move the image to `target` (STANDARD or ARCHIVE); its new status."""
    record, current = image.record, status(image.record)
    if current == ACTIVATING:
        raise ImageStorageClassUpdateNotSupportedException(
            f"The image with digest '{image.digest}' is being restored from the archival storage "
            "class; its storage class cannot change until it is ACTIVE"
        )
    if target == "ARCHIVE":
        if current == ARCHIVED:
            raise ImageStorageClassUpdateNotSupportedException(
                f"The image with digest '{image.digest}' is already in the ARCHIVE storage class"
            )
        record.archived, record.activating_until = True, None
        record.last_archived_at = utcnow()
        return ARCHIVED
    if current == ACTIVE:
        raise ImageStorageClassUpdateNotSupportedException(
            f"The image with digest '{image.digest}' is already in the STANDARD storage class"
        )
    now = utcnow()
    record.archived = False
    record.activating_until = now + dt.timedelta(seconds=store.state.settings.ecr_restore_s)
    record.last_activated_at = now
    return status(record, now)


def restore_on_push(record: ImageRecord) -> None:
    """A push of an archived image's manifest makes it ACTIVE again, at once."""
    if record.archived or record.activating_until is not None:
        record.archived, record.activating_until = False, None
        record.last_activated_at = utcnow()


# -- pull-time update exclusions ------------------------------------------------------------------

def check_principal(principal: str) -> str:
    if not _PRINCIPAL.match(principal):
        raise InvalidParameterException(
            f"Invalid parameter at 'principalArn' failed to satisfy constraint: 'must be the ARN "
            f"of an IAM role or user': {principal}")
    return principal


def register_exclusion(store, principal: str) -> dt.datetime:
    check_principal(principal)
    if principal in store.pull_time_exclusions:
        raise ExclusionAlreadyExistsException(
            f"The principal '{principal}' is already excluded from pull time updates in the "
            f"registry with id '{store.account}'"
        )
    created = store.pull_time_exclusions[principal] = utcnow()
    return created


def deregister_exclusion(store, principal: str) -> None:
    check_principal(principal)
    if store.pull_time_exclusions.pop(principal, None) is None:
        raise ExclusionNotFoundException(
            f"The principal '{principal}' is not excluded from pull time updates in the "
            f"registry with id '{store.account}'"
        )


def record_pull(store, record: ImageRecord, principal: str | None) -> None:
    """Set lastRecordedPullTime, unless `principal` is excluded."""
    if principal is None or not _excluded(store, principal):
        record.last_pull = utcnow()


def principal_for(store, access_key: str) -> str | None:
    """The calling principal, looked up only when an exclusion could apply (moto's STS is slow
    to load and most registries have no exclusions)."""
    if not store.pull_time_exclusions or not access_key:
        return None
    return store.state.principal_of(access_key, store.account, store.region)


def _excluded(store, principal: str) -> bool:
    match = _ASSUMED_ROLE.match(principal)
    if match is None:
        return principal in store.pull_time_exclusions
    # A session ARN names its role without the role's path: compare account and name.
    partition, account, role = match.groups()
    prefix = f"arn:{partition}:iam::{account}:role/"
    return any(arn.startswith(prefix) and arn.rsplit("/", 1)[1] == role
               for arn in store.pull_time_exclusions)

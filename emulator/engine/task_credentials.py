"""The task role: credentials from STS AssumeRole in moto, handed to a task's containers as on ECS.

A task with a taskRoleArn (in its definition, or in RunTask's overrides) gets one credentials id;
its containers get AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/<id>, which the SDKs
resolve against 169.254.170.2, where the emulator answers (metadata/link_local.py) with the
role's assumed-role credentials, refreshed before they expire. Where 169.254.170.2 cannot be
served (not root, not Linux, Docker Desktop, the port taken, a Docker Engine on another
machine), the containers get the assumed
role's AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN instead, for a long session,
since nothing can refresh them; the SDKs' default chain takes either.

A role that does not exist in moto's IAM is assumed all the same (moto allows it; we create
nothing) and a warning is logged once per role. Real ECS refuses RunTask in that case ("ECS was
unable to assume the role ..."); an emulator that did so would stop every task definition written
against a real account from running locally until its roles were recreated, which is the common
case, so we warn instead. The credentials are dropped when the task stops, as ECS does.
The execution role needs nothing here: it is the agent's, and moto checks no permissions when
we read secrets, environment files or images for a task.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Callable

from emulator.aws.context import partition_of
from emulator.engine.hooks import TaskHook

log = logging.getLogger("emulator.credentials")

CREDENTIALS_PATH = "/v2/credentials/"
# The key of TaskRoleCredentials in the Flask app's extensions (metadata/routes.py).
CREDENTIALS_EXTENSION = "ecs_task_credentials"
SESSION_S = 3600  # what ECS hands out; we refresh before the SDKs would
REFRESH_BEFORE_S = 30 * 60  # the SDKs refresh 15 minutes ahead; stay well clear of that
ENVIRONMENT_SESSION_S = 12 * 3600  # keys in the environment cannot be refreshed


@dataclass
class IssuedCredentials:
    """Credentials issued to a task's role, found again by their id."""
    id: str
    task_arn: str
    account: str
    region: str
    role_arn: str
    session_name: str
    access_key_id: str = ""
    secret_access_key: str = ""
    token: str = ""
    expiration: dt.datetime | None = None

    def document(self) -> dict:
        """What ECS's credentials endpoint answers (the SDKs read these five names)."""
        return {
            "RoleArn": self.role_arn,
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key,
            "Token": self.token,
            "Expiration": self.expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }


def task_role_arn(task, account: str, partition: str = "aws",
                  key: str = "taskRoleArn") -> str | None:
    """The task's role (`key`: taskRoleArn, or executionRoleArn): RunTask's override, else the
    definition's; a bare name made an ARN."""
    role = (task.overrides or {}).get(key) or task.definition.spec.get(key)
    if not role:
        return None
    if role.startswith("arn:"):
        return role
    return f"arn:{partition}:iam::{account}:role/{role}"


class TaskRoleCredentials(TaskHook):
    # Kept across a restart (persistence/parts.py): adopted containers keep their credentials id.
    persistent_fields = ("_by_id", "_by_task")

    def __init__(self, moto, link_local_serves: Callable[[object], bool]):
        self._moto = moto
        # task -> whether its containers reach 169.254.170.2 (on its engine: engines.py)
        self._link_local_serves = link_local_serves
        self._lock = threading.Lock()
        self._by_id: dict[str, IssuedCredentials] = {}
        self._by_task: dict[str, IssuedCredentials] = {}
        self._warned_roles: set[str] = set()

    # -- the hook ---------------------------------------------------------------------------------

    def environment(self, store, task, container) -> dict[str, str]:
        role = task_role_arn(task, store.account, partition_of(store.region))
        if role is None:
            return {}
        served = self._link_local_serves(task)
        issued = self._issue(store, task, role, SESSION_S if served else ENVIRONMENT_SESSION_S)
        if served:
            return {"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": CREDENTIALS_PATH + issued.id}
        return {
            "AWS_ACCESS_KEY_ID": issued.access_key_id,
            "AWS_SECRET_ACCESS_KEY": issued.secret_access_key,
            "AWS_SESSION_TOKEN": issued.token,
        }

    def on_stopped(self, store, task) -> None:
        with self._lock:
            issued = self._by_task.pop(task.arn, None)
            if issued is not None:
                self._by_id.pop(issued.id, None)

    # -- the endpoint's side ----------------------------------------------------------------------

    def task_of(self, credentials_id: str) -> str | None:
        """The ARN of the task a credentials id was issued to, if it is still running."""
        with self._lock:
            issued = self._by_id.get(credentials_id)
        return issued.task_arn if issued is not None else None

    def document(self, credentials_id: str) -> dict | None:
        """The credentials behind an id, fresh for at least REFRESH_BEFORE_S; None if unknown."""
        with self._lock:
            issued = self._by_id.get(credentials_id)
        if issued is None:
            return None
        if issued.expiration - _now() < dt.timedelta(seconds=REFRESH_BEFORE_S):
            self._assume(issued, SESSION_S)
        return issued.document()

    # -- assuming ---------------------------------------------------------------------------------

    def _issue(self, store, task, role: str, duration_s: int) -> IssuedCredentials:
        with self._lock:
            issued = self._by_task.get(task.arn)
        if issued is not None and issued.role_arn == role:
            return issued
        issued = IssuedCredentials(id=str(uuid.uuid4()), task_arn=task.arn, account=store.account,
                                   region=store.region, role_arn=role, session_name=task.id)
        self._warn_if_missing(issued)
        self._assume(issued, duration_s)
        with self._lock:
            # Several containers of one task may ask at once; the first one's credentials win.
            kept = self._by_task.setdefault(task.arn, issued)
            self._by_id[kept.id] = kept
        return kept

    def _assume(self, issued: IssuedCredentials, duration_s: int) -> None:
        sts = self._moto.backend("sts", issued.account, partition_of(issued.region))
        # ECS names the role session after the task: the assumed-role ARN ends in the task id.
        role = sts.assume_role(region_name=issued.region, role_session_name=issued.session_name,
                               role_arn=issued.role_arn, policy=None, duration=duration_s,
                               external_id=None)
        issued.access_key_id = role.access_key_id
        issued.secret_access_key = role.secret_access_key
        issued.token = role.session_token
        expiration = role.expiration
        issued.expiration = (expiration if expiration.tzinfo
                             else expiration.replace(tzinfo=dt.timezone.utc))

    def _warn_if_missing(self, issued: IssuedCredentials) -> None:
        if issued.role_arn in self._warned_roles:
            return
        role_account = issued.role_arn.split(":")[4] or issued.account
        iam = self._moto.backend("iam", role_account, partition_of(issued.region))
        try:
            iam.get_role_by_arn(issued.role_arn)
        except Exception:  # moto's IAMNotFoundException
            self._warned_roles.add(issued.role_arn)
            log.warning("task role %s does not exist in IAM; assuming it anyway (real ECS would "
                        "refuse to run the task)", issued.role_arn)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

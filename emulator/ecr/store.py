"""ECR state: one EcrStore per account and region (one private registry each), all guarded by one
lock, the EcrState's. API handlers run under it (the JSON service takes it); the registry's hooks
take it too. Nothing here does I/O.

The model's classes are named here only in annotations: importing them (and the registry, which
the EcrState makes on first use) is left to the first ECR call or push, not the emulator's
start-up (scripts/bench/cold_start.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from emulator.config import Settings
from emulator.ecr.errors import RepositoryNotFoundException

if TYPE_CHECKING:
    from emulator.ecr.model import Backfill, CreationTemplate, PullThroughCacheRule, Repository
    from emulator.registry import Registry


@dataclass
class EcrStore:
    """ECR's resources of one account in one region."""
    account: str
    region: str
    state: "EcrState" = field(repr=False)
    repositories: dict[str, Repository] = field(default_factory=dict)
    registry_policy: str | None = None
    replication_rules: list[dict] = field(default_factory=list)
    backfills: dict[str, Backfill] = field(default_factory=dict)
    pull_through_rules: dict[str, PullThroughCacheRule] = field(default_factory=dict)
    templates: dict[str, CreationTemplate] = field(default_factory=dict)
    account_settings: dict[str, str] = field(default_factory=dict)
    signing_configuration: dict | None = None
    scanning_configuration: dict = field(
        default_factory=lambda: {"scanType": "BASIC", "rules": []}
    )
    # (repository name, image digest) -> findings planted through the control endpoint; a scan
    # of that image reports them.
    planted_findings: dict[tuple[str, str], list[dict]] = field(default_factory=dict)
    # principal ARN -> when it was registered: pulls by these record no lastRecordedPullTime
    pull_time_exclusions: dict[str, dt.datetime] = field(default_factory=dict)
    # upload ID -> [a part before the last was under 5 MiB, the last part's size]
    # (CompleteLayerUpload refuses such an upload, as ECR does; ecr/layers.py _note_part);
    # dropped on completion, and the oldest beyond layers.MAX_TRACKED
    upload_parts: dict[str, list] = field(default_factory=dict)

    @property
    def registry_id(self) -> str:
        return self.account

    def repository(self, name: str) -> Repository:
        repository = self.repositories.get(name)
        if repository is None:
            raise RepositoryNotFoundException(
                f"The repository with name '{name}' does not exist in the registry with id "
                f"'{self.account}'"
            )
        return repository

    def other(self, account: str, region: str) -> "EcrStore":
        """The store of another registry of this emulator (replication, cross-account calls)."""
        return self.state.store_for(account, region)


class EcrState:
    """Every account's and region's ECR state, the one lock that guards it, and what outlives a
    reset: the settings, the registry, and the key that signs authorization tokens and download
    URLs (so a `docker login` stays good across resets)."""

    def __init__(self, settings: Settings | None = None, registry=None,
                 registry_factory: Callable[[], Registry] | None = None):
        """`registry`: where images live; or `registry_factory`, which makes it on first use."""
        self.lock = threading.RLock()
        self.settings = settings or Settings()
        self._registry = registry
        self._registry_factory = registry_factory
        self._registry_lock = threading.Lock()  # not the ECR lock: the registry's hooks take that
        self.signing_key = secrets.token_bytes(32)
        # (access key id, account, region) -> the caller's IAM principal ARN, or None when
        # unknown; wired by create_app to moto's STS (GetCallerIdentity's answer).
        self.principal_of = lambda access_key, account, region: None
        self._stores: dict[tuple[str, str], EcrStore] = {}
        # Changes the registry made to this state (a manifest put or deleted): persistence
        # writes ECR's part after a registry request only when this moved (persistence/requests.py).
        self.changes = 0

    @property
    def registry(self) -> Registry | None:
        """The registry (emulator/registry/), made on first use."""
        registry = self._registry
        if registry is not None:  # (every registry request asks: no lock once it is made)
            return registry
        with self._registry_lock:
            if self._registry is None and self._registry_factory is not None:
                self._registry = self._registry_factory()
            return self._registry

    @registry.setter
    def registry(self, registry: Registry | None) -> None:
        self._registry = registry

    def registry_if_made(self) -> Registry | None:
        """The registry if something has used it (a reset need not make one to empty it)."""
        return self._registry

    def changed(self) -> None:
        """Called under the lock by what changes the state outside an ECR API call."""
        self.changes += 1

    def store_for(self, account: str, region: str) -> EcrStore:
        key = (account, region)
        store = self._stores.get(key)
        if store is None:
            with self.lock:
                store = self._stores.setdefault(
                    key, EcrStore(account=account, region=region, state=self)
                )
        return store

    def existing_store(self, account: str, region: str) -> EcrStore | None:
        return self._stores.get((account, region))

    def stores(self) -> list[EcrStore]:
        with self.lock:
            return list(self._stores.values())

    def reset(self) -> None:
        with self.lock:
            self._stores.clear()


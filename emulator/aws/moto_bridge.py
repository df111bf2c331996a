"""Every AWS service we do not emulate ourselves is served by moto's backends, in this process.

moto is imported on the first request for one of its services, not at start-up: importing it
takes about a second and tens of MiB, which a user who only calls ECS should not pay.
"""

from __future__ import annotations

import contextvars
import threading
from dataclasses import dataclass

from emulator.aws.context import RequestContext

# The request moto is serving in this thread, and the bridge it came through: code we plug into
# moto (CloudFormation resource types) finds the emulator and the caller through it.
_current: contextvars.ContextVar["MotoRequest | None"] = (
    contextvars.ContextVar("moto_request", default=None))


@dataclass(frozen=True)
class MotoRequest:
    bridge: "MotoBridge"
    ctx: RequestContext
    environ: dict  # the WSGI environ: who called (access/gate.py marks it), from where


class MotoBridge:
    def __init__(self):
        self._app = None
        self._lock = threading.Lock()
        self.extensions: dict = {}  # what the app factory hangs on the bridge for plugged-in code
        self.on_load: list = []  # called once moto is imported (it is imported lazily)

    @property
    def loaded(self) -> bool:
        return self._app is not None

    def __call__(self, environ: dict, start_response, ctx: RequestContext):
        # moto reads the account from this header; we decide it the same way for every service.
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = ctx.account
        token = _current.set(MotoRequest(self, ctx, environ))
        try:
            return self._application()(environ, start_response)
        finally:
            _current.reset(token)

    @staticmethod
    def current() -> MotoRequest | None:
        """The moto request this thread is serving, if any."""
        return _current.get()

    def reset(self) -> None:
        if not self.loaded:
            return
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()

    def backend(self, service: str, account: str, region: str):
        """moto's backend of one service (for example "logs" or "ssm") in one account and region."""
        self._application()
        from moto.backends import get_backend

        return get_backend(service)[account][region]

    def _application(self):
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from moto.core.config import default_user_config

                    # AWS managed policies exist, as in a real account: guides attach them
                    # (AmazonECSTaskExecutionRolePolicy). About 0.3 s on an account's first
                    # IAM call.
                    default_user_config.setdefault("iam", {})["load_aws_managed_policies"] = True
                    from moto.moto_server.werkzeug_app import (
                        DomainDispatcherApplication,
                        create_backend_app,
                    )

                    for hook in self.on_load:
                        hook()
                    self._app = DomainDispatcherApplication(create_backend_app)
        return self._app

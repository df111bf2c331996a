"""Every AWS service we do not emulate ourselves is served by moto's backends, in this process.

moto is imported on the first request for one of its services, not at start-up: importing it
takes about a second and tens of MiB, which a user who only calls ECS should not pay.

moto reads a request's body whole, so a body over MOTO_BODY_LIMIT is refused (413) before moto
sees it. What moto cannot answer (an operation it lacks, a part of an operation it lacks, a
crash) is answered as AWS would, shaped for the service's protocol (moto_errors.py), and a crash
is logged with its trace. What moto may do beyond answering (run containers, send HTTP) is
held in by moto_containment.py.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import threading
from dataclasses import dataclass

from emulator import http_bodies
from emulator.aws import moto_errors
from emulator.aws.context import RequestContext, form_params

log = logging.getLogger("emulator.moto")

MOTO_BODY_LIMIT = 64 * 1024 * 1024
# Characters XML 1.0 cannot carry: AWS's query-protocol services refuse them in any value (their
# patterns do not allow them); moto stores and echoes them, and its XML becomes unreadable.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What moto raises when a service has no method for the operation at all (core/responses.py).
_NO_SUCH_ACTION = re.compile(r"The \S+ action has not been implemented")

# A presigned URL's query (SigV4, SigV2): signed, though it has no Authorization header.
_PRESIGNED = re.compile(r"(^|&)(X-Amz-Credential|AWSAccessKeyId)=", re.IGNORECASE)

# The request moto is serving in this thread, and the bridge it came through: code we plug into
# moto (CloudFormation resource types) finds the emulator and the caller through it.
_current: contextvars.ContextVar["MotoRequest | None"] = (
    contextvars.ContextVar("moto_request", default=None))


@dataclass(frozen=True)
class MotoRequest:
    """One call handed to moto: the bridge, the caller's context and the WSGI environ."""
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
        if http_bodies.declared_length(environ) > MOTO_BODY_LIMIT:
            return _send(start_response, moto_errors.too_large(environ, MOTO_BODY_LIMIT,
                                                               ctx.request_id))
        if moto_errors.protocol_of(environ) in ("query", "ec2"):
            refused = _unreadable_value(environ)
            if refused is not None:
                return _send(start_response, moto_errors.invalid_input(
                    environ, f"Value at '{refused}' contains control characters, which are not "
                    "allowed.", ctx.request_id))
        if self._unattributable(environ):
            return _send(start_response, moto_errors.missing_authentication(environ,
                                                                            ctx.request_id))
        answered = []

        def hold(status, headers, exc_info=None):  # moto's answer waits until we have seen it
            answered[:] = [status, headers]
            return _no_write

        token = _current.set(MotoRequest(self, ctx, environ))
        try:
            body = self._application()(environ, hold)
        except NotImplementedError as error:
            # moto lacks the operation itself, or only a part of one it has (a filter, a
            # parameter's value, a resource type): each is answered for what it is.
            detail = str(error) or type(error).__name__
            shape = (moto_errors.unknown_operation if _NO_SUCH_ACTION.fullmatch(detail)
                     else moto_errors.not_implemented)
            return _send(start_response, shape(environ, detail, ctx.request_id))
        except Exception as error:  # moto's own bug, or its parsing of a bad value
            if moto_errors.is_method_not_allowed(error):
                return _send(start_response, moto_errors.method_not_allowed(environ,
                                                                            ctx.request_id))
            log.exception("moto failed on %s %s", environ.get("REQUEST_METHOD"),
                          environ.get("PATH_INFO"))
            shape = (moto_errors.invalid_input if isinstance(error, (ValueError, TypeError))
                     else moto_errors.internal_failure)
            return _send(start_response, shape(environ, f"{type(error).__name__}: {error}",
                                               ctx.request_id))
        finally:
            _current.reset(token)
        status, headers = answered
        if status[:3] in ("404", "500") and _empty(headers):
            # moto's answer when no operation matched the request (404), or an error it
            # raised without a body: nothing an SDK can read.
            if hasattr(body, "close"):
                body.close()
            shape = (moto_errors.unknown_operation if status[:3] == "404"
                     else moto_errors.internal_failure)
            return _send(start_response, shape(environ, "no operation of this service matches "
                                               f"{environ.get('REQUEST_METHOD')} "
                                               f"{environ.get('PATH_INFO')}", ctx.request_id))
        start_response(status, headers)
        return body

    def _unattributable(self, environ: dict) -> bool:
        """Whether the request is unsigned, not a read of "/", and of no service moto can tell
        from its target, body or path. On AWS the host name tells the service; here only the
        SigV4 credential scope does, and moto takes such a request for S3 (whose root answers
        nothing but a read), where it crashed: a form POST of any query API, an OPTIONS."""
        if ("HTTP_AUTHORIZATION" in environ or environ.get("PATH_INFO") != "/"
                or environ.get("REQUEST_METHOD") in ("GET", "HEAD")
                or _PRESIGNED.search(environ.get("QUERY_STRING", ""))
                # S3's POST Object (a browser form's upload to a bucket's own host name,
                # `bucket.localhost`), signed by its policy field, not a header
                or environ.get("CONTENT_TYPE", "").startswith("multipart/form-data")):
            return False
        try:
            return self._application().infer_service_region_host(environ, "/") is None
        except Exception:  # noqa: BLE001 - a target moto cannot split: moto's own path answers it
            return False

    @staticmethod
    def current() -> MotoRequest | None:
        """The moto request this thread is serving, if any."""
        return _current.get()

    def reset(self) -> None:
        # moto's backends belong to the process, not to this bridge: another emulator in the
        # same process (a pytest session's) may have filled them before this one loaded moto.
        if not self.loaded and "moto.moto_api" not in sys.modules:
            return
        from moto.moto_api import _internal

        _internal.moto_api_backend.reset()

    def load(self) -> None:
        """Import moto now (as the first request for one of its services would)."""
        self._application()

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
                    # Tasks call moto too: it runs no containers and sends no HTTP to this host.
                    # (Imported with moto, not at start-up: its import machinery costs ~1.4 ms.)
                    from emulator.aws import moto_containment

                    moto_containment.configure(default_user_config)
                    from moto import settings as moto_settings
                    from moto.moto_server import werkzeug_app
                    from moto.moto_server.werkzeug_app import (
                        DomainDispatcherApplication,
                        create_backend_app,
                    )

                    moto_containment.install()
                    from emulator.aws import moto_log_trim, moto_memory

                    moto_memory.install()
                    moto_log_trim.install()
                    # moto's server grants every origin CORS (its preflights reflect any
                    # Origin and allow any header): a page of another origin would read the
                    # answers. Off, as MOTO_DISABLE_GLOBAL_CORS=true does; read when each
                    # service's app is made, so whoever imported moto first.
                    moto_settings.DISABLE_GLOBAL_CORS = True
                    werkzeug_app.DISABLE_GLOBAL_CORS = True

                    for hook in self.on_load:
                        hook()
                    self._app = DomainDispatcherApplication(create_backend_app)
        return self._app


def _send(start_response, answer) -> list[bytes]:
    status, headers, body = answer
    start_response(status, headers)
    return [body]


def _unreadable_value(environ: dict) -> str | None:
    """The name of a query-protocol parameter whose value holds a character XML cannot carry.
    A form body is read once (moto reads it whole anyway; its size is bounded above), and moto
    reads the bytes read (aws/context.py)."""
    pairs = form_params(environ, limit=MOTO_BODY_LIMIT)
    return next((name for name, value in pairs if _XML_ILLEGAL.search(value)), None)


def _no_write(data: bytes) -> None:
    raise RuntimeError("moto's app wrote through start_response's write(), which we hold back")


def _empty(headers) -> bool:
    return any(k.lower() == "content-length" and v.strip() == "0" for k, v in headers)

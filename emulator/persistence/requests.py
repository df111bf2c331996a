"""DurableRequests: a WSGI wrapper that writes what a mutating request changed before its
response goes out.

A request is a read when its method is GET, HEAD or OPTIONS, or when its operation (X-Amz-Target,
or a query-protocol form's Action) is named as AWS names reads (Describe*, List*, Get*, ...);
everything else may change state. Which parts it may change follows from where it goes: ECS and
ECR by their target prefix, a control endpoint to everything, and any other call to moto's parts
of the service its SigV4 credential scope names (CloudFormation's to ECS's and ECR's too: a
stack makes its ECS and ECR resources through our APIs). A registry (/v2/) write changes ECR's state only
when it puts or deletes a manifest of an ECR repository (a layer's chunks, blob uploads and
mounts change files the registry wrote already): ECR counts its changes (EcrState.changes), and
the ECR part is written only when a registry request (or ECR's layer upload calls, which write
registry storage alone) moved that count, so a push pickles the ECR state once per manifest,
not once per chunk.

The WSGI application has built its whole response (status, headers, body) when it returns, and
a server sends nothing before it iterates the body, so writing here is writing before the
client hears anything.
"""

from __future__ import annotations

import logging

from emulator.aws.context import form_action, signing_service
from emulator.persistence.keeper import PartsNotWritten

log = logging.getLogger("emulator.persistence")

READ_METHODS = ("GET", "HEAD", "OPTIONS")
REGISTRY = "registry"  # a /v2/ write: ECR's part, if ECR's state changed meanwhile
# ECR API calls that write only registry storage (a layer's upload), as a /v2/ upload does.
ECR_STORAGE_ONLY = ("InitiateLayerUpload", "UploadLayerPart", "CompleteLayerUpload")
# ECS calls that may also make a Cloud Map namespace (a cluster's Service Connect defaults): the
# namespace, moto's, is written with the cluster, or a crash would keep a cluster naming none.
ECS_WITH_CLOUD_MAP = ("CreateCluster", "UpdateCluster")
READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "BatchCheck", "Search", "Query", "Scan",
                 "Filter", "Lookup", "Head", "Select", "Validate", "Test", "Simulate")


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


class DurableRequests:
    def __init__(self, app, keeper, ecs_prefix: str, ecr_prefix: str, ecr_changes=lambda: 0):
        self._app = app
        self._keeper = keeper
        self._json_parts = {ecs_prefix: ["ecs", "hooks"], ecr_prefix: ["ecr"]}
        self._ecr_prefix = ecr_prefix
        self._ecr_changes = ecr_changes  # () -> how many changes ECR's state has seen

    def __call__(self, environ: dict, start_response):
        names = self._changes(environ)
        if names == REGISTRY:
            before = self._ecr_changes()
        result = self._app(environ, start_response)
        if names == REGISTRY:
            names = ["ecr"] if self._ecr_changes() != before else None
        if names is not None:
            try:
                if names == "all":
                    self._keeper.forget_moto()
                    names = self._keeper.all_names()
                elif isinstance(names, tuple):  # ("moto", service[, parts]): once moto answered
                    own = list(names[2]) if len(names) > 2 else []
                    names = own + self._keeper.moto_names(names[1])
                self._keeper.write(names)
            except PartsNotWritten:
                pass  # each logged as it failed; the background writer tries again
            except Exception:  # the change is live; the background writer tries again
                log.exception("could not write the state after %s %s",
                              environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"))
        return result

    def _changes(self, environ: dict):
        """The parts the request may change: a list, "all", ("moto", its service), or None."""
        method = environ.get("REQUEST_METHOD", "GET")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        path = environ.get("PATH_INFO", "")
        if target:
            prefix, _, operation = target.partition(".")
            if is_read(operation):
                return None
            if prefix == self._ecr_prefix and operation in ECR_STORAGE_ONLY:
                return REGISTRY
            if prefix in self._json_parts:
                if prefix != self._ecr_prefix and operation in ECS_WITH_CLOUD_MAP:
                    return ("moto", "servicediscovery", self._json_parts[prefix])
                return self._json_parts[prefix]
            return self._moto(environ)
        if method in READ_METHODS:
            return None
        if path.startswith(("/_emulator/", "/moto-api/")):
            return "all"
        if path.startswith("/v2/"):
            return REGISTRY
        if is_read(form_action(environ)):  # its body read once for all (aws/context.py)
            return None
        return self._moto(environ)

    def _moto(self, environ: dict) -> tuple:
        """A call to moto's service: its parts, and ours too for CloudFormation, whose stacks
        make and change ECS and ECR resources through our APIs (a stack's cluster must be
        written with the stack, or a kill -9 keeps a stack naming a cluster that is gone)."""
        service = _service(environ)
        if service == "cloudformation":
            return ("moto", service, [name for parts in self._json_parts.values()
                                      for name in parts])
        return ("moto", service)


def _service(environ: dict) -> str | None:
    """The SigV4 signing name of the call; None where it is not signed so (all moto's parts)."""
    return signing_service(environ) or None

"""Service Connect's Cloud Map namespaces, found (or made) in moto's servicediscovery.

ECS takes a namespace by name or by ARN. A cluster's `serviceConnectDefaults.namespace` that
names no namespace makes one: ECS creates an AWS Cloud Map HTTP namespace of that name and the
cluster shows its real ARN (`.../namespace/ns-...`). A service's
`serviceConnectConfiguration.namespace` must exist (NamespaceNotFoundException). The ECS layer
asks through `Contributions.cloud_map_namespace` (the app factory hangs `resolve` there), so it
never imports moto itself.
"""

from __future__ import annotations

import uuid


class CloudMapNamespaces:
    def __init__(self, moto):
        self._moto = moto

    def resolve(self, account: str, region: str, ref: str, create: bool) -> str | None:
        """The ARN of the namespace `ref` (a name or an ARN) in this account and region; with
        `create`, a name that matches none becomes a new HTTP namespace. None: not found."""
        backend = self._moto.backend("servicediscovery", account, region)
        for namespace in backend.list_namespaces():
            if ref in (namespace.arn, namespace.name, namespace.id):
                return namespace.arn
        if not create or ref.startswith("arn:"):
            return None
        backend.create_http_namespace(name=ref, creator_request_id=str(uuid.uuid4()),
                                      description="", tags=[])
        return next(n.arn for n in backend.list_namespaces() if n.name == ref)

"""A service's Service Connect configuration: checked as ECS checks it, then kept on the
service's deployments and shown. The proxy is not emulated and nothing is registered in
Cloud Map, so `serviceConnectResources` is never shown."""

from __future__ import annotations

from emulator.ecs.errors import InvalidParameterException, NamespaceNotFoundException


def check(store, configuration: dict | None, definition, cluster) -> None:
    """Refuse what ECS refuses: an enabled configuration needs a namespace (its own, which
    must exist in Cloud Map, else the cluster's Service Connect default), each service's
    portName must name a port mapping of the task definition, and discovery names must not
    repeat within the service."""
    if not configuration or not configuration.get("enabled"):
        return
    defaults = cluster.service_connect_defaults or {}
    namespace = configuration.get("namespace")
    if not namespace and not defaults.get("namespace"):
        raise InvalidParameterException(
            "Service Connect requires a namespace: give serviceConnectConfiguration.namespace "
            "or set the cluster's serviceConnectDefaults.")
    resolve = store.contributions.cloud_map_namespace
    if namespace and resolve is not None and resolve(store.account, store.region, namespace,
                                                     False) is None:
        raise NamespaceNotFoundException(f"The specified namespace wasn't found: {namespace}")
    ports = {mapping["name"] for container in
             (definition.spec.get("containerDefinitions", []) if definition else [])
             for mapping in container.get("portMappings", []) if mapping.get("name")}
    seen: set[str] = set()
    for entry in configuration.get("services", []):
        port_name = entry.get("portName")
        if port_name not in ports:
            raise InvalidParameterException(
                f"The portName '{port_name}' does not match the name of any portMappings in "
                "the task definition.")
        # Without a discoveryName, ECS names the Cloud Map service after the port.
        discovery = entry.get("discoveryName") or port_name
        if discovery in seen:
            raise InvalidParameterException(
                f"The discoveryName '{discovery}' is used more than once in the service's "
                "Service Connect configuration.")
        seen.add(discovery)

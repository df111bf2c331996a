"""Cloud Map instances of service tasks, kept in moto's servicediscovery (a task hook).

When a task of a service with `serviceRegistries` reaches RUNNING, each registry (a Cloud Map
service named by its ARN) gets an instance whose id is the task id, with the attributes ECS sets:
AWS_INSTANCE_IPV4, AWS_INSTANCE_PORT (when the registry names a port), AVAILABILITY_ZONE,
AWS_INIT_HEALTH_STATUS, REGION, ECS_CLUSTER_NAME, ECS_SERVICE_NAME, ECS_TASK_DEFINITION_FAMILY
(and EC2_INSTANCE_ID on container instances). Before the containers stop, the instance is
deregistered, so DiscoverInstances answers with the running tasks.

Addresses: awsvpc tasks by their private IP and container port; bridge and host tasks by the
address the host publishes ports on and the host port, which is where a client reaches them here.
"""

from __future__ import annotations

import logging

from emulator.engine.hooks import TaskHook
from emulator.engine.load_balancing import service_of

log = logging.getLogger("emulator.service_discovery")


class CloudMapInstances(TaskHook):
    persistent_fields = ("_registered",)  # kept across a restart (persistence/parts.py)

    def __init__(self, state, moto, publish_host: str = "127.0.0.1"):
        self._state = state
        self._moto = moto
        self._publish_host = publish_host
        self._registered: dict[str, list[str]] = {}  # task ARN -> registry ARNs it joined

    def on_running(self, store, task) -> None:
        with self._state.lock:
            service = service_of(store, task)
            if service is None or not service.service_registries:
                return
            planned = [(r["registryArn"], self._attributes(store, task, service, r))
                       for r in service.service_registries if r.get("registryArn")]
        joined, failures = [], []
        for registry_arn, attributes in planned:
            try:
                self._backend(registry_arn).register_instance(
                    _service_id(registry_arn), task.id, None, attributes)
                joined.append(registry_arn)
            except Exception as error:  # moto's errors are what Cloud Map would answer ECS
                failures.append((registry_arn, getattr(error, "message", None) or str(error)))
        with self._state.lock:
            self._registered.setdefault(task.arn, []).extend(joined)
            for registry_arn, why in failures:
                service.add_event(f"failed to register task {task.id} in (service-registry "
                                  f"{registry_arn}) with (error {why})")

    def on_stopping(self, store, task) -> None:
        with self._state.lock:
            registries = self._registered.pop(task.arn, [])
        for registry_arn in registries:
            try:
                self._backend(registry_arn).deregister_instance(_service_id(registry_arn), task.id)
            except Exception:  # already gone (the namespace or service was deleted)
                log.debug("deregistering %s from %s", task.id, registry_arn, exc_info=True)

    def set_health(self, task, status: str) -> int:
        """Report the task's instances HEALTHY or UNHEALTHY (custom health, as ECS does)."""
        with self._state.lock:
            registries = list(self._registered.get(task.arn, []))
        for registry_arn in registries:
            self._backend(registry_arn).update_instance_custom_health_status(
                _service_id(registry_arn), task.id, status)
        return len(registries)

    # -- attributes --------------------------------------------------------------------------------

    def _attributes(self, store, task, service, registry: dict) -> dict[str, str]:
        attributes = {
            "AWS_INSTANCE_IPV4": self._address(task),
            "AVAILABILITY_ZONE": task.availability_zone or f"{store.region}a",
            "AWS_INIT_HEALTH_STATUS": "HEALTHY",
            "REGION": store.region,
            "ECS_CLUSTER_NAME": task.cluster_name,
            "ECS_SERVICE_NAME": service.name,
            "ECS_TASK_DEFINITION_FAMILY": task.definition.family,
        }
        port = self._port(task, registry)
        if port is not None:
            attributes["AWS_INSTANCE_PORT"] = str(port)
        instance = store.container_instances.get(task.container_instance_arn or "")
        if instance is not None and instance.ec2_instance_id:
            attributes["EC2_INSTANCE_ID"] = instance.ec2_instance_id
        return attributes

    def _address(self, task) -> str:
        if task.network_mode == "awsvpc" and task.private_ip:
            return task.private_ip
        return self._publish_host

    @staticmethod
    def _port(task, registry: dict) -> int | None:
        """The registry's port (awsvpc SRV records), or its container's port as reached."""
        if registry.get("port") is not None:
            return registry["port"]
        container = task.container(registry.get("containerName", ""))
        port = registry.get("containerPort")
        if container is None or port is None:
            return None
        if task.network_mode in ("awsvpc", "host"):
            return port
        # ECS's registry names a container port, not a protocol: its TCP binding where there
        # is one, else the port's only (a UDP service's, a DNS server's say)
        return container.host_port(port, protocol=None)

    def dns_record_types(self, registry_arn: str) -> tuple[str, ...] | None:
        """The Cloud Map service's DNS record types, for CreateService's checks; None when
        there is no such service or it has no DNS records (an HTTP namespace's)."""
        try:
            service = self._backend(registry_arn).get_service(_service_id(registry_arn))
        except Exception:  # moto's ServiceNotFound, or a region moto does not know
            return None
        records = (service.dns_config or {}).get("DnsRecords") or []
        return tuple(r.get("Type") for r in records) or None

    def _backend(self, registry_arn: str):
        parts = registry_arn.split(":")
        return self._moto.backend("servicediscovery", parts[4], parts[3])


def _service_id(registry_arn: str) -> str:
    """arn:aws:servicediscovery:<region>:<account>:service/srv-... -> srv-..."""
    return registry_arn.rsplit("/", 1)[-1]

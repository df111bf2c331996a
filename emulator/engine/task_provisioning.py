"""The start of a task's life up to its network: PROVISIONING to PENDING. The task's sandbox
(the network namespace its containers join) is made, or a spare taken from the sandbox pool
(engine/sandbox_pool.py) and handed to the task, and what ECS shows of the network (the private
IP, the ENI attachment, awsvpc's published ports) is recorded.

Apart from task_runner.py, which takes the task on from there (images, containers, their start
order), because the hand-off from the pool is a job of its own: the spare's ports and name, and
the fall-back to a sandbox of the task's own. A mixin of TaskRunner, as task_teardown.py is: it
works on the runner's own task and sandbox under the runner's lock.
"""

from __future__ import annotations

import logging
import uuid

from emulator.ecs.model import utcnow
from emulator.engine import container_specs, sandbox_pool
from emulator.runtime.base import RuntimeError_, TaskSandbox
from emulator.runtime.status import TaskStatus

log = logging.getLogger("emulator.tasks")


class TaskProvisioning:
    """TaskRunner's first step: needs the runner's `engine`, `store`, `task`, `runtime`, `lock`,
    `sandbox`, `_advance`, `_fail`, `_stop_requested`, `_shape`, `_definitions` and `_quietly`."""

    def _provision(self) -> bool:
        self.engine.hold_for_engine(self.task)
        if self._stop_requested():
            return False
        shape = self._shape()
        ports = container_specs.sandbox_ports(shape, self._definitions())
        pooled = self._spare(shape, ports)
        try:
            self.sandbox = pooled.sandbox if pooled else self.runtime.create_sandbox(
                f"ecs-{self.task.definition.family}-{self.task.id[:12]}-sandbox",
                self.engine.labels_for(self.task, "~sandbox"),
                self.task.network_mode,
                ports,
            )
        except RuntimeError_ as error:
            self._fail("TaskFailedToStart", f"ResourceInitializationError: {error}")
            return False
        self._connected(network_bindings(pooled.state) if pooled and pooled.state and ports
                        else self._sandbox_bindings(ports))
        return True

    def _connected(self, published: list[dict]) -> None:
        """Record what ECS shows of the task's network (its private IP, its sandbox's id, by
        which callers know it; awsvpc's ENI and each container's share of the sandbox's
        `published` ports) and move the task to PENDING. Also for a task adopted on its way
        there (persistence/adoption.py)."""
        with self.lock:
            self.task.private_ip = self.sandbox.ip_address if self.sandbox else None
            if self.sandbox is not None and self.sandbox.sandbox_id is not None:
                self.task.sandbox_id = self.sandbox.sandbox_id
            self.task.connectivity_at = utcnow()
            if self.task.network_mode == "awsvpc":
                self.task.attachments = [self._eni_attachment()]
                for container in self.task.containers:
                    container.network_bindings = own_bindings(container, published)
            self._advance(TaskStatus.PENDING)

    def _spare(self, shape, ports) -> sandbox_pool.Ready | None:
        """A sandbox made ahead of time (engine/sandbox_pool.py) on the task's engine (each keeps
        its own: engines.py), now this task's; None when none is ready or the task cannot take
        one."""
        pool = self.engine.sandboxes_of(self.task)
        if self.task.network_mode == "awsvpc":
            return pool.take(ports, owner=self.task.arn)
        # A bridge task of one container joins a spare's namespace instead of attaching to the
        # network itself (Docker's dear part); the spare takes the container's name on the
        # network, so others still reach it by name (on the default bridge there are no names:
        # the spare is used as it is, in a burst too). Its address is not shown (ECS shows none
        # for bridge tasks); its ports are read from Docker once the container runs.
        bridge_ports = container_specs.pooled_bridge_ports(shape, self._definitions())
        ready = (pool.take(bridge_ports, alone=not self.runtime.default_bridge,
                           owner=self.task.arn)
                 if bridge_ports is not None else None)
        if ready is None:
            return None
        sandbox_id = ready.sandbox.sandbox_id
        self.sandbox = TaskSandbox(network=ready.sandbox.network, ip_address=None,
                                   sandbox_id=sandbox_id)  # teardown removes it from here on
        try:
            self.runtime.name_sandbox(self.sandbox, [self.task.containers[0].name])
        except RuntimeError_ as error:  # it went meanwhile: attach as without a pool
            log.info("spare sandbox %s could not be named (%s); task %s attaches itself",
                     sandbox_id, error, self.task.id)
            self._quietly(self.runtime.remove_sandbox, self.sandbox)
            self.sandbox = None
            return None
        return sandbox_pool.Ready(self.sandbox, None)

    def _sandbox_bindings(self, ports) -> list[dict]:
        """awsvpc: the host ports where the sandbox publishes the task's container ports."""
        if self.sandbox.sandbox_id is None or not ports:
            return []
        state = self.runtime.inspect_container(self.sandbox.sandbox_id)
        return network_bindings(state) if state is not None else []

    def _eni_attachment(self) -> dict:
        vpc = (self.task.network_configuration or {}).get("awsvpcConfiguration", {})
        ip = self.sandbox.ip_address or ""
        details = [
            {"name": "subnetId", "value": (vpc.get("subnets") or [""])[0]},
            {"name": "networkInterfaceId", "value": f"eni-{uuid.uuid4().hex[:17]}"},
            {"name": "macAddress", "value": self.sandbox.mac_address or ""},
            {"name": "privateDnsName",
             "value": f"ip-{ip.replace('.', '-')}.{self.store.region}.compute.internal"},
            {"name": "privateIPv4Address", "value": ip},
        ]
        # The attachment RunTask showed PRECREATED keeps its id (agents report on it by it).
        precreated = next((a["id"] for a in self.task.attachments
                           if a["type"] == "ElasticNetworkInterface"), None)
        return {"id": precreated or str(uuid.uuid4()), "type": "ElasticNetworkInterface",
                "status": "ATTACHED", "details": details}


def own_bindings(container, published: list[dict]) -> list[dict]:
    """The bindings of an awsvpc sandbox (`published`) that are `container`'s: its mappings'
    ports over their protocols (another container of the task may map the same port over the
    other one)."""
    mapped = {(m.get("containerPort"), m.get("protocol", "tcp"))
              for m in container.definition.get("portMappings", [])}
    return [b for b in published if (b["containerPort"], b.get("protocol", "tcp")) in mapped]


def network_bindings(state) -> list[dict]:
    """The host ports Docker published for a container (or sandbox), as ECS shows them."""
    return [
        {"bindIP": p.host_ip, "containerPort": p.container_port, "hostPort": p.host_port,
         "protocol": p.protocol}
        for p in state.published
    ]

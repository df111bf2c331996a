"""Handlers of the calls the ECS agent makes (DiscoverPollEndpoint, Submit*StateChange(s)) and of
UpdateContainerAgent. The rules are in emulator/ecs/agent_reports.py and agent_updates.py."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import agent_reports, agent_updates
from emulator.ecs.api.container_instances import wire


@handler("DiscoverPollEndpoint")
def discover_poll_endpoint(call: Call) -> dict:
    # The agent's endpoints are this emulator: it serves the ECS API, not the ACS and TCS
    # WebSocket protocols a real agent would open there (see the README).
    if call.request.cluster:
        call.store.cluster(call.request.cluster)
    base = f"http://{call.ctx.host}/" if call.ctx.host else None
    return {"endpoint": base, "telemetryEndpoint": base, "serviceConnectEndpoint": base}


@handler("SubmitTaskStateChange")
def submit_task_state_change(call: Call) -> dict:
    return {"acknowledgment": agent_reports.task_state_change(call.store, call.request)}


@handler("SubmitContainerStateChange")
def submit_container_state_change(call: Call) -> dict:
    return {"acknowledgment": agent_reports.container_state_change(call.store, call.request)}


@handler("SubmitAttachmentStateChanges")
def submit_attachment_state_changes(call: Call) -> dict:
    return {"acknowledgment": agent_reports.attachment_state_changes(call.store, call.request)}


@handler("UpdateContainerAgent")
def update_container_agent(call: Call) -> dict:
    instance = agent_updates.start(call.store, call.request.cluster,
                                   call.request.container_instance)
    return {"containerInstance": wire(call, instance)}

"""ContinueServiceDeployment: a deployment held by a PAUSE lifecycle hook goes on, or rolls back.

The hooks pause deployments in the scheduler (emulator/engine/deployment_hooks.py, which says at
which stages); here is what the API and a hook's timeout do to a paused one. The rules are the
user guide's "Continuing service deployments": the hook must be AWAITING_ACTION and the
deployment IN_PROGRESS.
"""

from __future__ import annotations

from emulator.ecs import services as service_ops
from emulator.ecs.errors import ClientException, InvalidParameterException
from emulator.ecs.model import utcnow
from emulator.ecs.service_model import Deployment, HookRun, Service
from emulator.ecs.store import EcsStore


def continue_deployment(store: EcsStore, service: Service, deployment: Deployment,
                        hook_id: str, action: str) -> None:
    run = next((r for r in deployment.hook_runs if r.hook_id == hook_id), None)
    if run is None:
        raise InvalidParameterException(
            f"The lifecycle hook {hook_id} was not found in the service deployment.")
    if deployment.deployment_status != "IN_PROGRESS" or deployment is not service.primary:
        raise ClientException(
            f"The service deployment is {deployment.deployment_status}; only an IN_PROGRESS "
            "deployment can be continued or rolled back.")
    if run.status != "AWAITING_ACTION":
        raise ClientException(
            f"The lifecycle hook {hook_id} is {run.status}, not AWAITING_ACTION.")
    resolve(service, deployment, run, action, f"{action} requested by ContinueServiceDeployment.")
    store.changed()


def resolve(service: Service, deployment: Deployment, run: HookRun, action: str,
            reason: str) -> None:
    """CONTINUE passes the hook's stage; ROLLBACK returns to the last completed deployment."""
    if run.status == "AWAITING_ACTION":
        run.status = "SUCCEEDED" if action == "CONTINUE" else "FAILED"
    deployment.updated_at = utcnow()
    if action == "CONTINUE":
        deployment.passed_stages.append(run.stage)
        service.add_event(f"(deployment {deployment.id}) continues past {run.stage}.")
        return
    deployment.rollout_state = "FAILED"
    deployment.rollout_state_reason = f"Rolled back at {run.stage}: {reason}"
    if service.last_completed is None:  # nothing to return to: the deployment just stops
        deployment.finish("STOPPED", reason)
        return
    service_ops.roll_back(service, deployment, service.last_completed, reason)

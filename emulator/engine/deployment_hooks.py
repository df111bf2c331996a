"""Lifecycle stages and PAUSE hooks of service deployments, for the service scheduler.

A deployment that replaces an earlier one walks ECS's lifecycle stages. The scheduler runs one
rolling deployment, so the stages fall at two points of it:
- before its tasks launch: RECONCILE_SERVICE, PRE_SCALE_UP (then SCALE_UP);
- once all its tasks serve, before the old deployment's tasks stop: POST_SCALE_UP and the
  traffic-shift stages (TEST_TRAFFIC_SHIFT ... POST_PRODUCTION_TRAFFIC_SHIFT: a load balancer's
  targets here are every serving task, so traffic shifts in one step), then CLEAN_UP.
A PAUSE hook on a stage holds the deployment there (hook status AWAITING_ACTION, a service
event) until ContinueServiceDeployment (emulator/ecs/deployment_hooks.py) or its timeout.
While a deployment has hooks on the later stages, it launches its full count first and keeps
every old task until those stages pass, as a blue/green deployment does.
AWS_LAMBDA hooks are not invoked (no Lambda runs here): their stages pass.
"""

from __future__ import annotations

import datetime as dt
import secrets

from emulator.ecs.deployment_hooks import resolve
from emulator.ecs.model import utcnow
from emulator.ecs.service_model import Deployment, HookRun, Service

BEFORE_SCALE_UP = ("RECONCILE_SERVICE", "PRE_SCALE_UP")
AFTER_SCALE_UP = ("POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
                  "PRE_PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT",
                  "POST_PRODUCTION_TRAFFIC_SHIFT")
# What DescribeServiceDeployments shows for a stage (its enum lacks PRE_PRODUCTION_...)
SHOWN_AS = {"PRE_PRODUCTION_TRAFFIC_SHIFT": "PRODUCTION_TRAFFIC_SHIFT"}
DEFAULT_TIMEOUT_MIN = 1440
DEFAULT_TIMEOUT_ACTION = "ROLLBACK"


def pause_hooks(service: Service) -> list[dict]:
    hooks = service.deployment_configuration.get("lifecycleHooks") or []
    return [h for h in hooks if h.get("targetType") == "PAUSE"]


def gates(rec) -> tuple[bool, bool]:
    """(may launch the primary deployment's tasks, may stop the old deployments' tasks)."""
    service, primary = rec.service, rec.service.primary
    hooks = pause_hooks(service)
    if not primary.source_ids or primary.rolls_back or primary.rollout_state != "IN_PROGRESS" \
            or primary.deployment_status != "IN_PROGRESS":
        return True, True
    _expire(rec, primary)
    if primary.deployment_status != "IN_PROGRESS":  # a timeout rolled it back
        return False, False
    if any(run.status == "AWAITING_ACTION" for run in primary.hook_runs):
        return primary.lifecycle_stage not in BEFORE_SCALE_UP, False
    if not _walk(service, primary, hooks, BEFORE_SCALE_UP):
        return False, False
    if primary.lifecycle_stage in BEFORE_SCALE_UP or primary.lifecycle_stage is None:
        primary.lifecycle_stage = "SCALE_UP"
    held = any(stage in AFTER_SCALE_UP for h in hooks for stage in h.get("lifecycleStages", []))
    mine = [t for t in rec.live if t.started_by == primary.id]
    if len(mine) < primary.desired_count or not all(t.serving for t in mine):
        return True, not held
    if not _walk(service, primary, hooks, AFTER_SCALE_UP):
        return True, False
    primary.lifecycle_stage = "CLEAN_UP"
    return True, True


def launches_in_full(service: Service) -> bool:
    """Whether old tasks stay until the later stages pass (then new ones launch regardless of
    maximumPercent, or the deployment could never scale up)."""
    return any(stage in AFTER_SCALE_UP for h in pause_hooks(service)
               for stage in h.get("lifecycleStages", []))


def _walk(service: Service, deployment: Deployment, hooks: list[dict], stages) -> bool:
    """Pass `stages` in order; False when a PAUSE hook holds one of them."""
    for stage in stages:
        if stage in deployment.passed_stages:
            continue
        deployment.lifecycle_stage = SHOWN_AS.get(stage, stage)
        hook = next((h for h in hooks if stage in h.get("lifecycleStages", [])), None)
        if hook is not None and not any(r.stage == stage for r in deployment.hook_runs):
            _pause(service, deployment, hook, stage)
            return False
        deployment.passed_stages.append(stage)
    return True


def _pause(service: Service, deployment: Deployment, hook: dict, stage: str) -> None:
    timeout = hook.get("timeoutConfiguration") or {}
    minutes = timeout.get("timeoutInMinutes", DEFAULT_TIMEOUT_MIN)
    run = HookRun(hook_id=f"ecs-pause-{secrets.token_urlsafe(32)}", stage=stage,
                  expires_at=utcnow() + dt.timedelta(minutes=minutes),
                  timeout_action=timeout.get("action", DEFAULT_TIMEOUT_ACTION))
    deployment.hook_runs.append(run)
    deployment.updated_at = utcnow()
    service.add_event(f"(deployment {deployment.id}) is paused at {stage} by a lifecycle hook "
                      f"(hook {run.hook_id}); ContinueServiceDeployment resumes it.")


def _expire(rec, deployment: Deployment) -> None:
    now = utcnow()
    for run in deployment.hook_runs:
        if run.status == "AWAITING_ACTION" and now >= run.expires_at:
            run.status = "TIMED_OUT"
            resolve(rec.service, deployment, run, run.timeout_action, "Lifecycle hook timed out.")
            rec.store.changed()

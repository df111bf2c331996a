"""PAUSE lifecycle hooks hold a service deployment at its stages, on real containers, until
ContinueServiceDeployment continues it or rolls it back."""

import pytest
from botocore.exceptions import ClientError

from waiting import wait_for

SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
FAST_WAITER = {"Delay": 1, "MaxAttempts": 90}
HOOKS = {"lifecycleHooks": [{"targetType": "PAUSE",
                             "lifecycleStages": ["PRE_SCALE_UP", "POST_SCALE_UP"],
                             "timeoutConfiguration": {"timeoutInMinutes": 30,
                                                      "action": "ROLLBACK"}}]}


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def revision(ecs, image, label):
    return ecs.register_task_definition(family="web", containerDefinitions=[
        {"name": "main", "image": image, "memory": 64, "command": SERVE,
         "environment": [{"name": "REVISION", "value": label}]}])["taskDefinition"]["taskDefinitionArn"]


def latest_deployment(ecs):
    arn = ecs.list_service_deployments(cluster="hooks", service="web")[
        "serviceDeployments"][0]["serviceDeploymentArn"]
    return ecs.describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def awaiting(deployment):
    return [h for h in deployment.get("lifecycleHookDetails", [])
            if h["status"] == "AWAITING_ACTION"]


def running_revisions(ecs):
    arns = ecs.list_tasks(cluster="hooks", serviceName="web")["taskArns"]
    if not arns:
        return []
    tasks = ecs.describe_tasks(cluster="hooks", tasks=arns)["tasks"]
    return sorted(t["taskDefinitionArn"].rsplit(":", 1)[1] for t in tasks
                  if t["lastStatus"] == "RUNNING")


def test_pause_hooks_hold_continue_and_roll_back(ecs, busybox_image):
    ecs.create_cluster(clusterName="hooks")
    ecs.create_service(cluster="hooks", serviceName="web", desiredCount=1,
                       taskDefinition=revision(ecs, busybox_image, "1"))
    ecs.get_waiter("services_stable").wait(cluster="hooks", services=["web"],
                                           WaiterConfig=FAST_WAITER)

    ecs.update_service(cluster="hooks", service="web", deploymentConfiguration=HOOKS,
                       taskDefinition=revision(ecs, busybox_image, "2"))
    paused = wait_for(lambda: latest_deployment(ecs), lambda d: awaiting(d), timeout=30)
    assert paused["status"] == "IN_PROGRESS" and paused["lifecycleStage"] == "PRE_SCALE_UP"
    first = awaiting(paused)[0]
    assert first["targetType"] == "PAUSE" and first["timeoutAction"] == "ROLLBACK"
    assert running_revisions(ecs) == ["1"]  # nothing of revision 2 launched
    arn = paused["serviceDeploymentArn"]

    with pytest.raises(ClientError) as excinfo:
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId="ecs-pause-nope")
    assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.continue_service_deployment(serviceDeploymentArn=arn.rsplit("/", 1)[0] + "/1",
                                        hookId=first["hookId"])
    assert error_code(excinfo) == "ServiceDeploymentNotFoundException"

    assert ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=first["hookId"])[
        "serviceDeploymentArn"] == arn
    with pytest.raises(ClientError) as excinfo:  # that hook is no longer awaiting
        ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=first["hookId"])
    assert error_code(excinfo) == "ClientException"

    # Scaled up in full, the old task kept, paused again after scale-up.
    paused = wait_for(lambda: latest_deployment(ecs),
                      lambda d: d["lifecycleStage"] == "POST_SCALE_UP" and awaiting(d), timeout=60)
    wait_for(lambda: running_revisions(ecs), lambda r: r == ["1", "2"], timeout=30)
    second = awaiting(paused)[0]
    ecs.continue_service_deployment(serviceDeploymentArn=arn, hookId=second["hookId"],
                                    action="CONTINUE")
    done = wait_for(lambda: latest_deployment(ecs), lambda d: d["status"] == "SUCCESSFUL",
                    timeout=60)
    assert [h["status"] for h in done["lifecycleHookDetails"]] == ["SUCCEEDED", "SUCCEEDED"]
    wait_for(lambda: running_revisions(ecs), lambda r: r == ["2"], timeout=30)

    # The next deployment is rolled back at its first hook: revision 2 stays.
    ecs.update_service(cluster="hooks", service="web",
                       taskDefinition=revision(ecs, busybox_image, "3"))
    paused = wait_for(lambda: latest_deployment(ecs), lambda d: awaiting(d), timeout=30)
    ecs.continue_service_deployment(serviceDeploymentArn=paused["serviceDeploymentArn"],
                                    hookId=awaiting(paused)[0]["hookId"], action="ROLLBACK")
    rolled = ecs.describe_service_deployments(
        serviceDeploymentArns=[paused["serviceDeploymentArn"]])["serviceDeployments"][0]
    assert rolled["status"] in ("ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL")
    assert rolled["lifecycleHookDetails"][0]["status"] == "FAILED"
    ecs.get_waiter("services_stable").wait(cluster="hooks", services=["web"],
                                           WaiterConfig=FAST_WAITER)
    service = ecs.describe_services(cluster="hooks", services=["web"])["services"][0]
    assert service["taskDefinition"].endswith(":2")
    assert running_revisions(ecs) == ["2"]


# -- a hook's timeout, without waiting its minutes ---------------------------------------------


def _paused_deployment(action):
    from types import SimpleNamespace

    from emulator.ecs.service_model import Deployment, Service
    from emulator.engine import deployment_hooks

    hooks = {"lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["PRE_SCALE_UP"],
                                 "timeoutConfiguration": {"timeoutInMinutes": 1,
                                                          "action": action}}]}
    service = Service(name="s", arn="arn", cluster_name="c", cluster_arn="carn", desired_count=1,
                      task_definition=None, launch_type="EC2", capacity_provider_strategy=[],
                      platform_version=None, network_configuration=None,
                      deployment_configuration=hooks, deployment_controller={"type": "ECS"})
    deployment = Deployment(id="ecs-svc/2", task_definition=None, desired_count=1,
                            launch_type="EC2", capacity_provider_strategy=[],
                            platform_version=None, network_configuration=None,
                            source_ids=["ecs-svc/1"])
    service.deployments = [deployment]
    service.history = [deployment]
    rec = SimpleNamespace(service=service, live=[], store=SimpleNamespace(changed=lambda: None))
    assert deployment_hooks.gates(rec) == (False, False)
    run = deployment.hook_runs[0]
    assert run.status == "AWAITING_ACTION" and run.timeout_action == action
    return deployment_hooks, rec, deployment, run


def test_a_hook_that_times_out_takes_its_action():
    import datetime as dt

    hooks, rec, deployment, run = _paused_deployment("CONTINUE")
    assert hooks.gates(rec) == (False, False)  # not yet expired: still held
    run.expires_at -= dt.timedelta(minutes=2)
    assert hooks.gates(rec) == (True, True)
    assert run.status == "TIMED_OUT" and deployment.lifecycle_stage == "SCALE_UP"

    hooks, rec, deployment, run = _paused_deployment("ROLLBACK")
    run.expires_at -= dt.timedelta(minutes=2)
    assert hooks.gates(rec) == (False, False)
    # nothing completed before it to roll back to: the deployment stops
    assert run.status == "TIMED_OUT" and deployment.deployment_status == "STOPPED"

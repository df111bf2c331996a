"""The ECS CLI's words, offline: configure, up, down, compose [service] ..., through main(argv)
against the plugin's emulator. The whole tutorial, in real processes, is tests/test_tutorial.py."""

from __future__ import annotations

import io
import textwrap
import types

import pytest
import yaml

from emulator.cli import main
from tests.waiting import quick_cli_polls, wait_for

REGION = "ap-southeast-2"


@pytest.fixture
def cli(clean_emulator, monkeypatch, tmp_path, capfd):
    home = tmp_path / "home"
    project = tmp_path / "proj"
    home.mkdir()
    project.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("AWS_ENDPOINT_URL", clean_emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.chdir(project)
    quick_cli_polls(monkeypatch)

    def run(*argv: str):
        capfd.readouterr()
        code = main(list(argv))
        out, err = capfd.readouterr()
        return code, out, err

    run.home, run.project = home, project
    return run


@pytest.fixture
def cluster_up(configured):
    code, _, err = configured("up", "--cluster-config", "demo", "--empty")
    assert code == 0, err
    return configured


@pytest.fixture
def configured(cli):
    code, _, err = cli("configure", "--cluster", "demo", "--default-launch-type", "FARGATE",
                       "--config-name", "demo", "--region", REGION)
    assert code == 0, err
    return cli


def client(clean_emulator, service):
    return clean_emulator.client(service, region=REGION)


def test_configure_writes_the_ecs_cli_config_under_home(cli):
    code, _, err = cli("configure", "--cluster", "tutorial", "--default-launch-type", "FARGATE",
                       "--config-name", "tutorial", "--region", REGION)
    assert code == 0
    assert "Saved ECS CLI cluster configuration tutorial." in err
    config = yaml.safe_load((cli.home / ".ecs" / "config").read_text())
    assert config == {"version": "v1", "default": "tutorial", "clusters": {"tutorial": {
        "cluster": "tutorial", "region": REGION, "default_launch_type": "FARGATE"}}}
    # A second configuration does not take the default; `configure default` does.
    assert cli("configure", "--cluster", "other", "--config-name", "other")[0] == 0
    config = yaml.safe_load((cli.home / ".ecs" / "config").read_text())
    assert config["default"] == "tutorial" and set(config["clusters"]) == {"tutorial", "other"}
    assert cli("configure", "default", "--config-name", "other")[0] == 0
    assert yaml.safe_load((cli.home / ".ecs" / "config").read_text())["default"] == "other"
    code, _, err = cli("configure", "default", "--config-name", "missing")
    assert code == 1 and "does not exist" in err


def test_the_credentials_file_is_never_open_to_others(tmp_path, monkeypatch):
    """Written 0600 from the start, whatever the umask: not made 0644 and chmodded after."""
    import os
    import stat

    from emulator.ecscli import config

    monkeypatch.setenv("HOME", str(tmp_path))
    seen = []
    replace = os.replace

    def replacing(source, target):  # the file as it is before it takes its name
        seen.append(stat.S_IMODE(os.stat(source).st_mode))
        return replace(source, target)

    monkeypatch.setattr(config.os, "replace", replacing)
    old = os.umask(0)
    try:
        for secret in ("first", "second"):  # made, then rewritten over the old one
            path = config._write("credentials", {"version": "v1", "ecs_profiles": {
                "p": {"aws_access_key_id": "AKIA", "aws_secret_access_key": secret}}})
    finally:
        os.umask(old)
    assert seen == [0o600, 0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert yaml.safe_load(path.read_text())["ecs_profiles"]["p"]["aws_secret_access_key"] == \
        "second"
    assert [p.name for p in path.parent.iterdir()] == ["credentials"]


def test_configure_rejects_an_unknown_launch_type(cli):
    code, _, err = cli("configure", "--cluster", "x", "--default-launch-type", "LAMBDA")
    assert code == 1 and "EC2, FARGATE" in err


def test_configure_profile_keys_are_used(cli, clean_emulator):
    code, _, _ = cli("configure", "profile", "--access-key", "111122223333",
                     "--secret-key", "s", "--profile-name", "acct")
    assert code == 0
    credentials = cli.home / ".ecs" / "credentials"
    assert yaml.safe_load(credentials.read_text())["ecs_profiles"]["acct"][
        "aws_access_key_id"] == "111122223333"
    assert credentials.stat().st_mode & 0o077 == 0
    # A 12-digit access key id picks the account: the cluster lands in 111122223333.
    assert cli("up", "--cluster", "acct", "--empty", "--ecs-profile", "acct",
               "--region", REGION)[0] == 0
    ecs = clean_emulator.client("ecs", region=REGION, account="111122223333")
    assert ecs.list_clusters()["clusterArns"] == [
        f"arn:aws:ecs:{REGION}:111122223333:cluster/acct"]


def test_up_makes_the_cluster_and_its_network_stack(configured, clean_emulator):
    code, out, err = configured("up", "--cluster-config", "demo")
    assert code == 0, err
    assert "Created cluster" in err and "cluster=demo" in err
    lines = out.splitlines()
    assert lines[-1] == "Cluster creation succeeded."
    cfn = client(clean_emulator, "cloudformation")
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(
        StackName="amazon-ecs-cli-setup-demo")["StackResources"]}
    assert {"Vpc", "PubSubnetAz1", "PubSubnetAz2", "InternetGateway", "RouteViaIgw"} <= set(
        resources)
    vpc = resources["Vpc"]["PhysicalResourceId"]
    subnets = [resources[n]["PhysicalResourceId"] for n in ("PubSubnetAz1", "PubSubnetAz2")]
    assert lines[:3] == [f"VPC created: {vpc}", f"Subnet created: {subnets[0]}",
                         f"Subnet created: {subnets[1]}"]
    ec2 = client(clean_emulator, "ec2")
    described = ec2.describe_subnets(SubnetIds=subnets)["Subnets"]
    assert {s["VpcId"] for s in described} == {vpc}
    assert len({s["AvailabilityZone"] for s in described}) == 2
    assert all(s["AvailabilityZone"].startswith(REGION) for s in described)
    assert "EcsSecurityGroup" not in resources  # FARGATE: the tutorial uses the default group
    ecs = client(clean_emulator, "ecs")
    assert ecs.describe_clusters(clusters=["demo"])["clusters"][0]["status"] == "ACTIVE"
    # A second `up` refuses without --force.
    code, _, err = configured("up", "--cluster-config", "demo")
    assert code == 1 and "Please specify '--force'" in err


def test_up_for_ec2_adds_a_security_group_on_the_port(cli, clean_emulator):
    code, out, err = cli("up", "--cluster", "ec2", "--region", REGION, "--launch-type", "EC2",
                         "--port", "8080", "--capability-iam", "--keypair", "k")
    assert code == 0, err
    group = [line for line in out.splitlines() if line.startswith("Security Group created: ")]
    ec2 = client(clean_emulator, "ec2")
    described = ec2.describe_security_groups(GroupIds=[group[0].split(": ")[1]])
    rule = described["SecurityGroups"][0]["IpPermissions"][0]
    assert (rule["FromPort"], rule["ToPort"]) == (8080, 8080)


def test_down_deletes_the_stack_and_the_cluster(configured, clean_emulator):
    assert configured("up", "--cluster-config", "demo")[0] == 0
    cfn = client(clean_emulator, "cloudformation")
    vpc = cfn.describe_stack_resources(StackName="amazon-ecs-cli-setup-demo",
                                       LogicalResourceId="Vpc")["StackResources"][0][
        "PhysicalResourceId"]
    code, _, err = configured("down", "--force", "--cluster-config", "demo")
    assert code == 0, err
    assert "Deleted cluster" in err
    with pytest.raises(cfn.exceptions.ClientError, match="does not exist"):
        cfn.describe_stacks(StackName="amazon-ecs-cli-setup-demo")
    ec2 = client(clean_emulator, "ec2")
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"] == []
    ecs = client(clean_emulator, "ecs")
    assert ecs.describe_clusters(clusters=["demo"])["clusters"][0]["status"] == "INACTIVE"


def test_down_asks_first(configured, clean_emulator, monkeypatch):
    assert configured("up", "--cluster-config", "demo", "--empty")[0] == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, _ = configured("down", "--cluster-config", "demo")
    assert code == 1 and "Are you sure" in out
    ecs = client(clean_emulator, "ecs")
    assert ecs.describe_clusters(clusters=["demo"])["clusters"][0]["status"] == "ACTIVE"


def test_a_missing_cluster_config_is_named(cli):
    code, _, err = cli("up", "--cluster-config", "nope")
    assert code == 1 and "cluster configuration nope not found" in err


def write_project(directory, image, script="sleep 600", params=True):
    (directory / "docker-compose.yml").write_text(textwrap.dedent(f"""\
        version: '2'
        services:
          app:
            image: {image}
            command: ["sh", "-c", "{script}"]
            mem_limit: 64m
            stop_grace_period: 1s
        """))
    if params:
        (directory / "ecs-params.yml").write_text(textwrap.dedent("""\
            version: 1
            task_definition:
              ecs_network_mode: awsvpc
              task_size: {cpu_limit: 256, mem_limit: 512}
            run_params:
              network_configuration:
                awsvpc_configuration: {subnets: [subnet-1], assign_public_ip: ENABLED}
            """))


def test_compose_service_lifecycle(cluster_up, configured, clean_emulator, busybox_image):
    write_project(configured.project, busybox_image)
    base = ("compose", "--project-name", "svc", "service")
    code, _, err = configured(*base, "up", "--cluster-config", "demo")
    assert code == 0, err
    assert "Created an ECS service" in err and "ECS Service has reached a stable state" in err
    ecs = client(clean_emulator, "ecs")
    service = ecs.describe_services(cluster="demo", services=["svc"])["services"][0]
    assert (service["runningCount"], service["launchType"]) == (1, "FARGATE")
    assert service["taskDefinition"].endswith("task-definition/svc:1")
    assert service["networkConfiguration"]["awsvpcConfiguration"]["subnets"] == ["subnet-1"]

    # Unchanged files: the same revision is used again; no new one is registered.
    code, _, err = configured(*base, "up", "--cluster-config", "demo")
    assert code == 0 and "TaskDefinition=svc:1" in err
    assert ecs.list_task_definitions(familyPrefix="svc")["taskDefinitionArns"][-1].endswith(
        ":1")

    code, _, err = configured(*base, "scale", "2", "--cluster-config", "demo")
    assert code == 0, err
    code, out, _ = configured(*base, "ps", "--cluster-config", "demo")
    running = [line for line in out.splitlines()[1:] if " RUNNING " in line]
    assert len(running) == 2 and all("svc:1" in line for line in running)

    code, _, err = configured(*base, "stop", "--cluster-config", "demo")
    assert code == 0, err
    assert ecs.describe_services(cluster="demo", services=["svc"])["services"][0][
        "runningCount"] == 0
    code, _, err = configured(*base, "start", "--cluster-config", "demo")
    assert code == 0 and ecs.describe_services(cluster="demo", services=["svc"])["services"][0][
        "runningCount"] == 1

    # A changed compose file registers a new revision and deploys it.
    write_project(configured.project, busybox_image, script="sleep 601")
    code, _, err = configured(*base, "up", "--cluster-config", "demo")
    assert code == 0 and "TaskDefinition=svc:2" in err
    service = ecs.describe_services(cluster="demo", services=["svc"])["services"][0]
    assert service["taskDefinition"].endswith(":2") and service["runningCount"] == 1

    code, _, err = configured(*base, "down", "--cluster-config", "demo")
    assert code == 0, err
    assert "Deleted ECS service" in err
    assert ecs.list_tasks(cluster="demo")["taskArns"] == []
    assert ecs.describe_services(cluster="demo", services=["svc"])["services"][0][
        "status"] != "ACTIVE"


def test_compose_service_create_then_ps_and_rm(cluster_up, configured, clean_emulator,
                                               busybox_image):
    write_project(configured.project, busybox_image)
    base = ("compose", "-p", "made", "service")
    assert configured(*base, "create", "--cluster-config", "demo")[0] == 0
    ecs = client(clean_emulator, "ecs")
    assert ecs.describe_services(cluster="demo", services=["made"])["services"][0][
        "desiredCount"] == 0
    code, out, _ = configured(*base, "ps", "--cluster-config", "demo")
    assert code == 0 and out.splitlines()[1:] == []
    assert configured(*base, "rm", "--cluster-config", "demo")[0] == 0
    code, _, err = configured(*base, "scale", "1", "--cluster-config", "demo")
    assert code == 1 and "does not exist" in err


def test_compose_create_log_groups(configured, clean_emulator, busybox_image):
    (configured.project / "docker-compose.yml").write_text(textwrap.dedent(f"""\
        version: '3'
        services:
          app:
            image: {busybox_image}
            logging: {{driver: awslogs, options: {{awslogs-group: made-by-cli,
                      awslogs-region: {REGION}, awslogs-stream-prefix: app}}}}
        """))
    (configured.project / "ecs-params.yml").write_text(
        "task_definition: {ecs_network_mode: awsvpc, task_execution_role: ecsTaskExecutionRole,"
        " task_size: {cpu_limit: 256, mem_limit: 512}}\n")
    code, _, err = configured("compose", "-p", "lg", "create", "--create-log-groups",
                              "--cluster-config", "demo")
    assert code == 0, err
    groups = client(clean_emulator, "logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["made-by-cli"]
    assert "Created Log Group" in err


def test_compose_tasks_up_scale_ps_down(cluster_up, configured, clean_emulator, busybox_image):
    write_project(configured.project, busybox_image)
    base = ("compose", "--project-name", "jobs")
    code, _, err = configured(*base, "up", "--cluster-config", "demo")
    assert code == 0, err
    assert "Started container..." in err
    ecs = client(clean_emulator, "ecs")

    def running():
        return ecs.list_tasks(cluster="demo", family="jobs",
                              desiredStatus="RUNNING")["taskArns"]

    assert len(running()) == 1
    assert configured(*base, "scale", "3", "--cluster-config", "demo")[0] == 0
    assert len(running()) == 3
    assert configured(*base, "scale", "1", "--cluster-config", "demo")[0] == 0
    assert len(running()) == 1
    code, out, _ = configured(*base, "ps", "--cluster-config", "demo")
    assert code == 0 and sum(" RUNNING " in line for line in out.splitlines()) == 1
    code, _, err = configured(*base, "down", "--cluster-config", "demo")
    assert code == 0, err
    assert running() == []
    wait_for(lambda: ecs.describe_tasks(cluster="demo", tasks=ecs.list_tasks(
        cluster="demo", desiredStatus="STOPPED")["taskArns"])["tasks"],
        lambda tasks: all(t["lastStatus"] == "STOPPED" for t in tasks))


def test_compose_needs_the_cluster(configured, busybox_image):
    write_project(configured.project, busybox_image)
    code, _, err = configured("compose", "service", "up", "--cluster-config", "demo")
    assert code == 1 and "Cluster not found: demo" in err


def test_compose_reports_a_bad_compose_file(cluster_up, configured):
    (configured.project / "docker-compose.yml").write_text("services:\n  web: {build: .}\n")
    code, _, err = configured("compose", "service", "up", "--cluster-config", "demo")
    assert code == 1 and "has no image" in err


def test_compose_without_ecs_params_on_fargate_is_refused(cluster_up, configured,
                                                         busybox_image):
    write_project(configured.project, busybox_image, params=False)
    code, _, err = configured("compose", "service", "up", "--cluster-config", "demo")
    assert code == 1 and "requires network mode to be 'awsvpc'" in err


def test_compose_file_and_ecs_params_flags(configured, clean_emulator, busybox_image):
    write_project(configured.project, busybox_image)
    (configured.project / "docker-compose.yml").rename(configured.project / "app.yml")
    (configured.project / "ecs-params.yml").rename(configured.project / "params.yml")
    (configured.project / "more.yml").write_text("version: '2'\nservices:\n"
                                                 "  app: {environment: {EXTRA: 'yes'}}\n")
    code, _, err = configured("compose", "--file", "app.yml", "-f", "more.yml",
                              "--ecs-params", "params.yml", "--project-name", "flags", "create",
                              "--cluster-config", "demo")
    assert code == 0, err
    definition = client(clean_emulator, "ecs").describe_task_definition(
        taskDefinition="flags")["taskDefinition"]
    assert definition["networkMode"] == "awsvpc"
    assert definition["containerDefinitions"][0]["environment"] == [
        {"name": "EXTRA", "value": "yes"}]
    code, _, err = configured("compose", "--ecs-params", "missing.yml", "-f", "app.yml",
                              "create", "--cluster-config", "demo")
    assert code == 1 and "missing.yml" in err


def test_image_pulls_are_reported_once_while_they_last(capfd):
    from emulator.ecscli.waiting import report_pull

    task = {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc", "lastStatus": "PENDING",
            "pullStartedAt": "now", "containers": [{"image": "repo/app:1"}]}
    seen: set[str] = set()
    report_pull(task, seen)
    report_pull(task, seen)
    report_pull({**task, "taskArn": task["taskArn"] + "d", "pullStoppedAt": "later"}, seen)
    err = capfd.readouterr().err
    assert err.count("Pulling images") == 1 and "images=repo/app:1" in err and "task=abc" in err


class CrashLoopingEcs:
    """An ECS client whose service never runs its one task: every look finds a new task that
    failed, as a service of an image that cannot be pulled does."""

    def __init__(self):
        self.looks = 0

    def describe_services(self, cluster, services):
        self.looks += 1
        assert self.looks < 100, "still waiting: the timeout never came"
        return {"services": [{"serviceName": "web", "desiredCount": 1, "runningCount": 0,
                              "pendingCount": 1, "events": [], "deployments": [{}]}]}

    def get_paginator(self, _name):
        looks = self.looks

        class Pages:
            def paginate(self, **_filters):
                return [{"taskArns": [f"arn:aws:ecs:us-east-1:123456789012:task/c/{looks:032x}"]}]
        return Pages()

    def describe_tasks(self, cluster, tasks):
        return {"tasks": [{"taskArn": arn, "lastStatus": "STOPPED", "desiredStatus": "STOPPED",
                           "stoppedReason": "CannotPullContainerError"} for arn in tasks]}


def test_the_timeout_counts_from_the_last_change_of_the_running_count(monkeypatch):
    # The ECS CLI's rule: new tasks that fail one after another are no progress.
    from emulator.cli_commands.connection import CliError
    from emulator.ecscli import waiting

    clock = iter(range(0, 10_000, 10))  # ten seconds pass between two looks
    # The module's own clock only: the process's time module serves the emulator's threads.
    monkeypatch.setattr(waiting, "time", types.SimpleNamespace(
        monotonic=lambda: next(clock), sleep=lambda _s: None))
    ecs = CrashLoopingEcs()
    with pytest.raises(CliError, match="Running count has not changed for 1 minutes"):
        waiting.ServiceWatch(ecs, "c", "web").wait(1)
    assert ecs.looks < 10

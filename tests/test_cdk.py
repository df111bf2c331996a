"""The AWS CDK end to end, offline: `cdk bootstrap`, then `cdk deploy` of tests/cdk_app (an image
asset built from a Dockerfile over the offline test image, published to our registry, served by
an ecs_patterns.ApplicationLoadBalancedFargateService), its page fetched, `cdk diff`, and
`cdk destroy` leaving nothing behind. The npm packages come from scripts/ensure-cdk.sh (cached
outside the clone); without node the test is skipped."""

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.groups import HOST

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "cdk_app"

pytestmark = [pytest.mark.docker, HOST,  # docker build (tests/groups.py)
              pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                                 reason="the CDK needs node and npm")]


@pytest.fixture(scope="module")
def node_modules():
    found = subprocess.run([str(ROOT / "scripts" / "ensure-cdk.sh")], capture_output=True,
                           text=True, timeout=600, check=True).stdout.strip()
    assert found, "ensure-cdk.sh found node but gave no node_modules"
    return Path(found)


class Cdk:
    def __init__(self, handle, node_modules: Path, workdir: Path):
        self.workdir = workdir
        self.binary = str(node_modules / ".bin" / "cdk")
        self.env = {**os.environ, "AWS_ENDPOINT_URL": handle.endpoint_url,
                    "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                    "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
                    "NODE_PATH": str(node_modules), "CDK_DISABLE_VERSION_CHECK": "1",
                    "CDK_DISABLE_CLI_TELEMETRY": "true",
                    "DOCKER_CONFIG": str(workdir / "docker-config")}

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([self.binary, *args, "--no-notices"], cwd=self.workdir,
                                env=self.env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result


@pytest.fixture
def cdk(clean_emulator, node_modules, tmp_path, docker_client):
    workdir = tmp_path / "app"
    shutil.copytree(APP, workdir, ignore=shutil.ignore_patterns("package*.json"))
    (tmp_path / "app" / "docker-config").mkdir()
    yield Cdk(clean_emulator, node_modules, workdir)
    import docker.errors

    built = {image.id for image in docker_client.images.list()  # the CDK's asset and its pulls
             if any("cdkasset" in tag or "container-assets" in tag for tag in image.tags)}
    for image_id in built:
        try:
            docker_client.images.remove(image_id, force=True)
        except docker.errors.APIError:
            pass  # still used by a container the test's failure left; the no-leak test says so


def test_cdk_bootstrap_deploy_and_destroy(cdk, clean_emulator, docker_client):
    ecs, ecr = clean_emulator.client("ecs"), clean_emulator.client("ecr")
    cfn, ssm = clean_emulator.client("cloudformation"), clean_emulator.client("ssm")
    cdk("bootstrap", "aws://123456789012/us-east-1")
    repository = "cdk-hnb659fds-container-assets-123456789012-us-east-1"
    assert ecr.describe_repositories(repositoryNames=[repository])["repositories"]
    assert ssm.get_parameter(Name="/cdk-bootstrap/hnb659fds/version")["Parameter"]["Value"]

    cdk("deploy", "--require-approval", "never", "--outputs-file", "outputs.json")
    out = json.loads((cdk.workdir / "outputs.json").read_text())["EmulatorWeb"]
    assert ecr.describe_images(repositoryName=repository)["imageDetails"]  # the asset, pushed
    service = ecs.describe_services(cluster=out["ClusterName"],
                                    services=[out["ServiceName"]])["services"][0]
    assert service["runningCount"] == 1 and service["launchType"] == "FARGATE"
    tasks = ecs.list_tasks(cluster=out["ClusterName"])["taskArns"]
    task = ecs.describe_tasks(cluster=out["ClusterName"], tasks=tasks)["tasks"][0]
    binding = task["containers"][0]["networkBindings"][0]
    page = urllib.request.urlopen(f"http://{binding['bindIP']}:{binding['hostPort']}/",
                                  timeout=10).read().decode()
    assert "Hello from the CDK" in page
    elbv2 = clean_emulator.client("elbv2")
    group = service["loadBalancers"][0]["targetGroupArn"]
    targets = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    address = task["attachments"][0]["details"]
    ip = next(d["value"] for d in address if d["name"] == "privateIPv4Address")
    assert [t["Target"]["Id"] for t in targets] == [ip]

    diff = cdk("diff")
    assert "There were no differences" in diff.stdout + diff.stderr

    stack_id = cfn.describe_stacks(StackName="EmulatorWeb")["Stacks"][0]["StackId"]
    cdk("destroy", "--force")
    assert cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    assert ecs.list_clusters()["clusterArns"] == []
    assert docker_client.containers.list(
        all=True, filters={"label": f"ecs-emulator.task-arn={tasks[0]}"}) == []
    vpcs = clean_emulator.client("ec2").describe_vpcs()["Vpcs"]
    assert [v["IsDefault"] for v in vpcs] == [True]

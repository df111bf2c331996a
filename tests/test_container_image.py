"""The emulator as a container image (the Dockerfile at the root, built by scripts/build-image.sh):
run with the host's Docker socket, it serves the README's quick starts as the process does: a
Fargate service whose page is fetched at its published port on 127.0.0.1, tasks that call the
emulator back (at its address on their network), `docker push` through the published port and a
task from the pushed image; and it leaves nothing behind when it stops.

Built in the test (a few seconds once Docker's layer cache holds the dependencies); skipped only
where the build script's prerequisites are missing.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import boto3
import pytest

from tests.groups import HOST
from tests.waiting import page_text, wait_for, wait_for_task

pytestmark = [pytest.mark.docker, HOST]  # docker build (tests/groups.py)

ROOT = Path(__file__).resolve().parent.parent
IMAGE = "ecs-emulator-test/emulator:latest"
BUSYBOX = "ecs-emulator-test/busybox:latest"
PAGE = "<h1>from the emulator image</h1>"


def docker(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=300, **kwargs)
    if check:
        assert done.returncode == 0, f"docker {args}: {done.stderr}"
    return done


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def image(busybox_image):
    base = docker("image", "inspect", "ecs-emulator-test/python-boto3:latest", check=False)
    if base.returncode != 0 and (os.geteuid() != 0 or not shutil.which("apt-get")):
        pytest.skip("the image's base (build-test-images.sh --python) needs root and apt-get")
    subprocess.run([str(ROOT / "scripts" / "build-image.sh"), "--tag", IMAGE], check=True,
                   timeout=1800)
    return IMAGE


class Running:
    """One emulator container: its name, endpoint, clients, data directory on the host."""

    def __init__(self, image: str, data_dir: str):
        self.name = f"ecs-emulator-image-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()  # the same inside and out: Docker pulls task images from it
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        docker("run", "-d", "--name", self.name, "--label", "ecs-emulator-test.image=1",
               "-v", "/var/run/docker.sock:/var/run/docker.sock",
               "-v", f"{data_dir}:/var/lib/ecs-emulator",
               "-p", f"127.0.0.1:{self.port}:{self.port}", "-e", f"ECS_EMULATOR_PORT={self.port}",
               image)
        self.id = docker("inspect", "-f", "{{.Id}}", self.name).stdout.strip()
        # Ready when the ECS API answers (/_emulator/* may be kept to loopback callers, which
        # the host, reaching us through the published port, is not).
        wait_for(self._answers, bool, timeout=90)  # a loaded machine starts it slowly

    def _answers(self) -> bool:
        try:
            self.client("ecs").list_clusters()
            return True
        except Exception:
            return False

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def logs(self) -> str:
        done = docker("logs", self.name, check=False)
        return done.stdout + done.stderr


def ours(container_id: str) -> list[str]:
    """Every container, network and volume the emulator in `container_id` labelled as its own
    (its host name label is the container's short id)."""
    label = f"label=ecs-emulator.host={container_id[:12]}"
    found = []
    for kind in ("ps -a", "network ls", "volume ls"):
        found += docker(*kind.split(), "-q", "--filter", label).stdout.split()
    return found


def test_the_image_runs_services_pushes_and_cleans_up(image, tmp_path):
    data_dir = tempfile.mkdtemp(prefix="ecs-emulator-image-data-")
    emulator = Running(image, data_dir)
    pushed = f"127.0.0.1:{emulator.port}/app:1"
    try:
        ecs = emulator.client("ecs")
        ecs.create_cluster(clusterName="dev")
        web = ("trap 'exit 0' TERM; mkdir -p /www && echo '" + PAGE + "' > /www/index.html; "
               # The task calls the emulator back: its metadata, at the address it was given.
               "echo \"$ECS_CONTAINER_METADATA_URI_V4\" > /www/uri.txt; "
               "wget -qO- \"$ECS_CONTAINER_METADATA_URI_V4/task\" > /www/task.json; "
               "httpd -f -p 80 -h /www & wait")
        ecs.register_task_definition(
            family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
            cpu="256", memory="512", containerDefinitions=[{
                "name": "web", "image": BUSYBOX, "entryPoint": ["sh", "-c"], "command": [web],
                "portMappings": [{"containerPort": 80}], "stopTimeout": 2}])
        ecs.create_service(cluster="dev", serviceName="web", taskDefinition="web",
                           desiredCount=1, launchType="FARGATE", networkConfiguration={
                               "awsvpcConfiguration": {"subnets": ["subnet-1"]}})
        ecs.get_waiter("services_stable").wait(cluster="dev", services=["web"],
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        task = ecs.describe_tasks(cluster="dev", tasks=ecs.list_tasks(cluster="dev")["taskArns"])
        binding = task["tasks"][0]["containers"][0]["networkBindings"][0]
        assert binding["bindIP"] == "127.0.0.1"
        base = f"http://127.0.0.1:{binding['hostPort']}"
        assert PAGE in wait_for(lambda: page_text(f"{base}/") or "", lambda page: PAGE in page,
                                timeout=20)
        metadata = json.loads(wait_for(lambda: page_text(f"{base}/task.json") or "",
                                       lambda text: text.strip(), timeout=20))
        assert metadata["TaskARN"] == task["tasks"][0]["taskArn"]
        # ... at the emulator container's own address on the task network.
        networks = json.loads(docker("inspect", "-f", "{{json .NetworkSettings.Networks}}",
                                     emulator.name).stdout)
        own = {n["IPAddress"] for name, n in networks.items() if name.startswith("ecs-emulator-")}
        uri = page_text(f"{base}/uri.txt").strip()
        assert uri.split("/")[2] in {f"{ip}:{emulator.port}" for ip in own}, (uri, networks)

        # docker push through the published port, and a task of the pushed image.
        ecr = emulator.client("ecr")
        ecr.create_repository(repositoryName="app")
        token = ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
        password = base64.b64decode(token).decode().split(":", 1)[1]
        config = tmp_path / "docker-config"
        config.mkdir()
        env = {**os.environ, "DOCKER_CONFIG": str(config)}
        docker("login", "--username", "AWS", "--password-stdin", f"127.0.0.1:{emulator.port}",
               input=password, env=env)
        docker("tag", BUSYBOX, pushed)
        docker("push", pushed, env=env)
        docker("rmi", pushed)  # the task must pull it from the emulator's registry
        assert ecr.describe_images(repositoryName="app")["imageDetails"][0]["imageTags"] == ["1"]
        # the registry's blobs are on the data volume (its .lock is there from the start)
        assert any(files for _, _, files in os.walk(os.path.join(data_dir, "registry")))
        ecs.register_task_definition(family="pushed", containerDefinitions=[{
            "name": "main", "image": pushed, "memory": 32, "command": ["echo", "pushed-ran"]}])
        arn = ecs.run_task(cluster="dev", taskDefinition="pushed")["tasks"][0]["taskArn"]
        done = wait_for_task(ecs, "dev", arn, "STOPPED")
        assert done["containers"][0]["exitCode"] == 0, done
    finally:
        stopped = docker("stop", "-t", "60", emulator.name, check=False)
        code = docker("inspect", "-f", "{{.State.ExitCode}}", emulator.name, check=False)
        log = emulator.logs()
        left = ours(emulator.id)
        docker("rm", "-f", emulator.name, check=False)
        docker("rmi", pushed, check=False)
        subprocess.run(["rm", "-rf", data_dir], check=False)
    assert stopped.returncode == 0 and code.stdout.strip() == "0", log
    assert left == [], log
    # It left its tasks' network as a matter of course, not as a leftover forced off.
    assert not [line for line in log.splitlines() if "force-disconnected" in line
                and (emulator.id in line or emulator.name in line)], log


def test_the_emulator_finds_its_own_container_in_mountinfo(tmp_path):
    from emulator.runtime.own_container import own_container_id

    ident = "0123456789abcdef" * 4
    mountinfo = tmp_path / "mountinfo"
    mountinfo.write_text(
        "600 590 0:52 / / rw,relatime - overlay overlay rw\n"
        f"611 590 8:1 /var/lib/docker/containers/{ident}/hostname /etc/hostname rw - ext4 "
        "/dev/sda1 rw\n")
    assert own_container_id(str(mountinfo)) == ident
    mountinfo.write_text("600 590 0:52 / / rw,relatime - overlay overlay rw\n")
    assert own_container_id(str(mountinfo)) == socket.gethostname()


# -- the README's docker-compose.yml ---------------------------------------------------------------

# The README's `deployer` stands for the user's application: here a Python with boto3 that reaches
# the emulator by its Compose service name (AWS_ENDPOINT_URL from the README's file) and starts a
# task that keeps running, so that `docker-compose down` has a task of the emulator's to clean up.
DEPLOYER = """
import time, boto3
ecs = boto3.client("ecs")
ecs.create_cluster(clusterName="compose")
ecs.register_task_definition(family="app", containerDefinitions=[{
    "name": "main", "image": "%s", "memory": 32, "stopTimeout": 2,
    "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]}])
arn = ecs.run_task(cluster="compose", taskDefinition="app")["tasks"][0]["taskArn"]
for _ in range(600):
    task = ecs.describe_tasks(cluster="compose", tasks=[arn])["tasks"][0]
    if task["lastStatus"] in ("RUNNING", "STOPPED"):
        break
    time.sleep(0.1)
print("deployer:", task["lastStatus"], arn, ecs.meta.endpoint_url)
""" % BUSYBOX


def readme_compose_file() -> str:
    """The README's example docker-compose.yml, as the README shows it."""
    readme = (ROOT / "README.md").read_text()
    after = readme.split("An example `docker-compose.yml`", 1)[1]
    return after.split("```yaml\n", 1)[1].split("```", 1)[0]


def compose(project: str, directory: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker-compose", "--project-name", project, *args], cwd=directory,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"docker-compose {args}: {done.stdout}{done.stderr}"
    return done


def of_project(project: str) -> list[str]:
    """Every container, network and volume Compose made for `project`."""
    label = f"label=com.docker.compose.project={project}"
    found = []
    for kind in ("ps -a", "network ls", "volume ls"):
        found += docker(*kind.split(), "-q", "--filter", label).stdout.split()
    return found


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose is missing (scripts/ensure-compose.sh installs it)")
def test_the_readme_compose_file_runs_an_application_against_the_emulator(image, tmp_path):
    text = readme_compose_file()
    # Our image's test tag, and a free host port (4566 may be another emulator's on this host).
    for expected in ("image: ecs-emulator:latest", '"127.0.0.1:4566:4566"',
                     '"127.0.0.1:4567:4567"', "my-deployer:latest"):
        assert expected in text, text
    port = free_port()
    (tmp_path / "docker-compose.yml").write_text(
        text.replace("image: ecs-emulator:latest", f"image: {image}")
            .replace('"127.0.0.1:4566:4566"', f'"127.0.0.1:{port}:4566"')
            .replace('"127.0.0.1:4567:4567"', f'"127.0.0.1:{free_port()}:4567"'))
    # The application: the README's `deployer` service, given an image and a command.
    (tmp_path / "docker-compose.override.yml").write_text(json.dumps({"services": {"deployer": {
        "image": "ecs-emulator-test/python-boto3:latest",
        "command": ["python3", "-c", DEPLOYER]}}}))
    project = f"ecsemulatortest{uuid.uuid4().hex[:8]}"
    emulator_id = None
    try:
        compose(project, tmp_path, "up", "-d")  # the deployer starts once the emulator is healthy
        emulator_id = compose(project, tmp_path, "ps", "-q", "ecs-emulator").stdout.strip()
        deployer = compose(project, tmp_path, "ps", "-q", "deployer").stdout.strip()
        exit_code = docker("wait", deployer).stdout.strip()
        said = docker("logs", deployer).stdout + docker("logs", deployer).stderr
        assert exit_code == "0" and "deployer: RUNNING" in said, said
        assert "http://ecs-emulator:4566" in said  # by its Compose service name
        # The emulator it reached is the one published on the host: the task is there, running.
        ecs = boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        arn = said.split()[-2]
        assert ecs.describe_tasks(cluster="compose", tasks=[arn])["tasks"][0]["lastStatus"] \
            == "RUNNING"
        assert ours(emulator_id), "the task's container carries the emulator's labels"

        compose(project, tmp_path, "down")
        # Nothing of the project's but the data volume the README names (kept for the next `up`),
        # and nothing of the emulator's: its task container went with it.
        left = of_project(project)
        volumes = docker("volume", "ls", "-q", "--filter",
                         f"label=com.docker.compose.project={project}").stdout.split()
        assert left == volumes == [f"{project}_ecs-emulator-data"], left
        assert ours(emulator_id) == []
        compose(project, tmp_path, "down", "--volumes")
        assert of_project(project) == []
    finally:
        subprocess.run(["docker-compose", "--project-name", project, "down", "--volumes",
                        "--timeout", "30"], cwd=tmp_path, capture_output=True, timeout=300)
        if emulator_id:  # what a failed run left of the emulator's
            for kind in ("rm -f", "network rm", "volume rm"):
                for name in ours(emulator_id):
                    docker(*kind.split(), name, check=False)

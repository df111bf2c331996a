"""docker-compose.yml + ecs-params.yml -> task definition, by the ECS CLI's conversion rules (no
server: emulator/compose is pure). Each registered request is also checked against ECS's model."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emulator.compose import (
    ComposeError, compose_files, load_project, network_configuration, placement, read_ecs_params,
    task_definition,
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


def convert(tmp_path, compose: str, params: str | None = None, environ=None, **options):
    write(tmp_path, "docker-compose.yml", compose)
    if params is not None:
        write(tmp_path, "ecs-params.yml", params)
    project = load_project(compose_files(None, tmp_path), environ or {})
    ecs_params = read_ecs_params(None, tmp_path)
    return task_definition(project, ecs_params, "proj", environ=environ or {}, **options), \
        ecs_params


def containers(conversion) -> dict:
    return {c["name"]: c for c in conversion.request["containerDefinitions"]}


TUTORIAL_COMPOSE = """\
    version: '3'
    services:
      web:
        image: amazon/amazon-ecs-sample
        ports:
          - "80:80"
        logging:
          driver: awslogs
          options:
            awslogs-group: tutorial
            awslogs-region: us-east-1
            awslogs-stream-prefix: web
    """

TUTORIAL_PARAMS = """\
    version: 1
    task_definition:
      task_execution_role: ecsTaskExecutionRole
      ecs_network_mode: awsvpc
      task_size:
        mem_limit: 0.5GB
        cpu_limit: 256
    run_params:
      network_configuration:
        awsvpc_configuration:
          subnets:
            - "subnet-1"
            - "subnet-2"
          security_groups:
            - "sg-1"
          assign_public_ip: ENABLED
    """


def test_the_tutorials_files_become_its_task_definition(tmp_path):
    conversion, params = convert(tmp_path, TUTORIAL_COMPOSE, TUTORIAL_PARAMS,
                                 launch_type="FARGATE")
    assert conversion.request == {
        "family": "proj",
        "containerDefinitions": [{
            "name": "web", "image": "amazon/amazon-ecs-sample", "essential": True,
            "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
            "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "tutorial", "awslogs-region": "us-east-1",
                "awslogs-stream-prefix": "web"}},
        }],
        "networkMode": "awsvpc", "executionRoleArn": "ecsTaskExecutionRole",
        "cpu": "256", "memory": "0.5GB", "requiresCompatibilities": ["FARGATE"],
    }
    assert network_configuration(params) == {"awsvpcConfiguration": {
        "subnets": ["subnet-1", "subnet-2"], "securityGroups": ["sg-1"],
        "assignPublicIp": "ENABLED"}}


def test_the_request_fits_ecs_model(tmp_path):
    import botocore.session
    from botocore.validate import ParamValidator

    conversion, _ = convert(tmp_path, TUTORIAL_COMPOSE, TUTORIAL_PARAMS, launch_type="FARGATE")
    model = botocore.session.get_session().get_service_model("ecs")
    input_shape = model.operation_model("RegisterTaskDefinition").input_shape
    report = ParamValidator().validate(conversion.request, input_shape)
    assert not report.has_errors(), report.generate_report()


def test_fields_of_version_2(tmp_path):
    conversion, _ = convert(tmp_path, """\
        version: '2'
        services:
          app:
            image: busybox
            command: sh -c 'echo "hi there"'
            entrypoint: /bin/entry --flag
            environment:
              A: 1
              B: "two"
              FROM_SHELL:
            working_dir: /srv
            user: "1000:1000"
            mem_limit: 256m
            mem_reservation: 128m
            cpu_shares: 100
            log_driver: json-file
            log_opt: {max-size: 10m}
            healthcheck:
              test: ["CMD", "true"]
              interval: 1m30s
              timeout: 5s
              retries: 3
              start_period: 10s
            hostname: box
            extra_hosts: ["db:10.0.0.5"]
            labels: {tier: web}
            cap_add: [NET_ADMIN]
            ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 65535}
        """, environ={"FROM_SHELL": "yes"})
    app = containers(conversion)["app"]
    assert app["command"] == ["sh", "-c", 'echo "hi there"']
    assert app["entryPoint"] == ["/bin/entry", "--flag"]
    assert app["environment"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "two"},
                                  {"name": "FROM_SHELL", "value": "yes"}]
    assert (app["workingDirectory"], app["user"]) == ("/srv", "1000:1000")
    assert (app["memory"], app["memoryReservation"], app["cpu"]) == (256, 128, 100)
    assert app["logConfiguration"] == {"logDriver": "json-file", "options": {"max-size": "10m"}}
    assert app["healthCheck"] == {"command": ["CMD", "true"], "interval": 90, "timeout": 5,
                                  "retries": 3, "startPeriod": 10}
    assert app["hostname"] == "box"
    assert app["extraHosts"] == [{"hostname": "db", "ipAddress": "10.0.0.5"}]
    assert app["dockerLabels"] == {"tier": "web"}
    assert app["linuxParameters"] == {"capabilities": {"add": ["NET_ADMIN"]}}
    assert app["ulimits"] == [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048},
                              {"name": "nproc", "softLimit": 65535, "hardLimit": 65535}]


def test_depends_on_both_forms(tmp_path):
    conversion, _ = convert(tmp_path, """\
        version: '3.8'
        services:
          web: {image: web, depends_on: {db: {condition: service_healthy},
                                         init: {condition: service_completed_successfully},
                                         cache: {condition: service_started}}}
          api: {image: api, depends_on: [db]}
          db: {image: db}
          init: {image: init}
          cache: {image: cache}
        """)
    found = containers(conversion)
    assert found["web"]["dependsOn"] == [
        {"containerName": "db", "condition": "HEALTHY"},
        {"containerName": "init", "condition": "SUCCESS"},
        {"containerName": "cache", "condition": "START"}]
    assert found["api"]["dependsOn"] == [{"containerName": "db", "condition": "START"}]


@pytest.mark.parametrize("ports, mappings", [
    (["80"], [{"containerPort": 80, "protocol": "tcp"}]),
    (["8080:80"], [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]),
    (["127.0.0.1:8080:80/udp"], [{"containerPort": 80, "hostPort": 8080, "protocol": "udp"}]),
    (["8000-8001:80-81"], [{"containerPort": 80, "hostPort": 8000, "protocol": "tcp"},
                           {"containerPort": 81, "hostPort": 8001, "protocol": "tcp"}]),
    ([{"target": 80, "published": 8080, "protocol": "tcp"}],
     [{"containerPort": 80, "hostPort": 8080, "protocol": "tcp"}]),
])
def test_ports(tmp_path, ports, mappings):
    import json

    conversion, _ = convert(tmp_path, f"""\
        version: '3'
        services:
          web: {{image: web, ports: {json.dumps(ports)}}}
        """)
    assert containers(conversion)["web"]["portMappings"] == mappings


def test_bad_port_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="Could not convert port"):
        convert(tmp_path, "services:\n  web: {image: web, ports: ['eighty']}\n")


def test_memory_defaults_to_512_unless_the_task_has_memory(tmp_path):
    conversion, _ = convert(tmp_path, "services:\n  web: {image: web}\n")
    assert containers(conversion)["web"]["memory"] == 512
    conversion, _ = convert(tmp_path, "services:\n  web: {image: web}\n",
                            "task_definition: {task_size: {mem_limit: 1GB, cpu_limit: 512}}\n")
    assert "memory" not in containers(conversion)["web"]
    assert (conversion.request["memory"], conversion.request["cpu"]) == ("1GB", "512")


def test_ecs_params_services_override_compose(tmp_path):
    conversion, _ = convert(tmp_path, """\
        version: '2'
        services:
          web: {image: web, mem_limit: 256m, healthcheck: {test: "true"}}
          log: {image: log}
        """, """\
        version: 1
        task_definition:
          task_role_arn: arn:aws:iam::123456789012:role/app
          services:
            web:
              mem_limit: 512m
              mem_reservation: 256m
              cpu_shares: 64
              healthcheck: {command: ["CMD-SHELL", "curl -f localhost"], interval: 10s}
              secrets: [{value_from: /app/token, name: TOKEN}]
              init_process_enabled: true
            log: {essential: false}
        """)
    found = containers(conversion)
    web = found["web"]
    assert (web["memory"], web["memoryReservation"], web["cpu"]) == (512, 256, 64)
    assert web["healthCheck"] == {"command": ["CMD-SHELL", "curl -f localhost"], "interval": 10}
    assert web["secrets"] == [{"name": "TOKEN", "valueFrom": "/app/token"}]
    assert web["linuxParameters"] == {"initProcessEnabled": True}
    assert found["log"]["essential"] is False and web["essential"] is True
    assert conversion.request["taskRoleArn"] == "arn:aws:iam::123456789012:role/app"
    assert any("override" in w for w in conversion.warnings)


def test_a_task_role_flag_wins_over_ecs_params(tmp_path):
    conversion, _ = convert(tmp_path, "services:\n  web: {image: web}\n",
                            "task_definition: {task_role_arn: from-params}\n",
                            task_role_arn="from-flag")
    assert conversion.request["taskRoleArn"] == "from-flag"


def test_no_essential_container_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="essential"):
        convert(tmp_path, "services:\n  web: {image: web}\n",
                "task_definition: {services: {web: {essential: false}}}\n")


def test_fargate_needs_awsvpc(tmp_path):
    with pytest.raises(ComposeError, match="awsvpc"):
        convert(tmp_path, "services:\n  web: {image: web}\n", launch_type="FARGATE")


def test_awsvpc_needs_a_subnet(tmp_path):
    _, params = convert(tmp_path, "services:\n  web: {image: web}\n",
                        "task_definition: {ecs_network_mode: awsvpc}\n")
    with pytest.raises(ComposeError, match="at least one subnet"):
        network_configuration(params)


def test_a_service_without_image_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="no image"):
        convert(tmp_path, "services:\n  web: {build: .}\n")


def test_variables_are_interpolated(tmp_path):
    conversion, _ = convert(tmp_path, """\
        services:
          web:
            image: "repo/web:${TAG:-latest}"
            environment: ["PRICE=$$5", "WHO=${WHO}", "HOME_DIR=$HOME_DIR"]
        """, environ={"WHO": "me", "HOME_DIR": "/home/me"})
    web = containers(conversion)["web"]
    assert web["image"] == "repo/web:latest"
    assert web["environment"] == [{"name": "PRICE", "value": "$5"},
                                  {"name": "WHO", "value": "me"},
                                  {"name": "HOME_DIR", "value": "/home/me"}]


def test_ecs_params_expand_environment_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("SUBNET", "subnet-from-env")
    write(tmp_path, "ecs-params.yml", """\
        task_definition: {ecs_network_mode: awsvpc}
        run_params:
          network_configuration:
            awsvpc_configuration: {subnets: [$SUBNET]}
          task_placement:
            strategy: [{type: spread, field: "attribute:ecs.availability-zone"}]
            constraints: [{type: distinctInstance}]
        """)
    params = read_ecs_params(None, tmp_path)
    assert network_configuration(params)["awsvpcConfiguration"]["subnets"] == ["subnet-from-env"]
    assert placement(params) == {
        "placementConstraints": [{"type": "distinctInstance"}],
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}]}


def test_volumes_become_task_volumes_named_as_the_ecs_cli_names_them(tmp_path):
    conversion, _ = convert(tmp_path, """\
        version: '3'
        services:
          web:
            image: web
            volumes: ["./site:/www:ro", "/scratch", "data:/data",
                      {type: bind, source: ./site, target: /again}]
          side: {image: side, volumes_from: ["web:ro"]}
        volumes:
          data: {}
        """)
    web = containers(conversion)["web"]
    site = str((tmp_path / "site").resolve())
    assert web["mountPoints"] == [
        {"sourceVolume": "volume-0", "containerPath": "/www", "readOnly": True},
        {"sourceVolume": "volume-1", "containerPath": "/scratch", "readOnly": False},
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
        {"sourceVolume": "volume-0", "containerPath": "/again", "readOnly": False}]
    assert conversion.request["volumes"] == [
        {"name": "volume-0", "host": {"sourcePath": site}}, {"name": "volume-1"},
        {"name": "data"}]
    assert containers(conversion)["side"]["volumesFrom"] == [
        {"sourceContainer": "web", "readOnly": True}]


def test_an_undeclared_named_volume_is_an_error(tmp_path):
    with pytest.raises(ComposeError, match="no declaration"):
        convert(tmp_path, "services:\n  web: {image: web, volumes: ['data:/data']}\n")


def test_several_files_merge_and_the_override_file_is_read(tmp_path):
    write(tmp_path, "docker-compose.yml", """\
        version: '3'
        services:
          web: {image: web:1, ports: ["80"], environment: {A: "1", B: "1"}}
        """)
    write(tmp_path, "docker-compose.override.yml", """\
        version: '3'
        services:
          web: {image: web:2, ports: ["81"], environment: {B: "2"}}
        """)
    project = load_project(compose_files(None, tmp_path), {})
    web = project.services["web"]
    assert web["image"] == "web:2"
    assert web["ports"] == ["80", "81"]
    assert web["environment"] == {"A": "1", "B": "2"}
    given = compose_files(["docker-compose.yml"], tmp_path)
    assert [p.name for p in given] == ["docker-compose.yml"]


def test_env_file_then_environment(tmp_path):
    write(tmp_path, "app.env", "# comment\nA=from-file\nB=from-file\n")
    conversion, _ = convert(tmp_path, """\
        services:
          web: {image: web, env_file: app.env, environment: {B: mine}}
        """)
    assert containers(conversion)["web"]["environment"] == [
        {"name": "A", "value": "from-file"}, {"name": "B", "value": "mine"}]


def test_missing_compose_file_is_a_clear_error(tmp_path):
    with pytest.raises(ComposeError, match="no docker-compose.yml"):
        compose_files(None, tmp_path)


def test_unsupported_fields_are_warned_about(tmp_path):
    conversion, _ = convert(tmp_path, "services:\n  web: {image: web, restart: always}\n")
    assert any("restart" in warning for warning in conversion.warnings)

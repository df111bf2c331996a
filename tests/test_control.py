"""The control endpoint: /_emulator/health, and /_emulator/reset and moto's /moto-api/reset, which
drop every service's state (ours and moto's)."""

from __future__ import annotations

import pytest
import requests

from emulator import __version__
from emulator.runtime.probe import docker_answers


def test_health_reports_version_and_docker(clean_emulator):
    response = requests.get(f"{clean_emulator.endpoint_url}/_emulator/health", timeout=30)
    assert response.status_code == 200
    health = response.json()
    assert health["status"] == "ok"
    assert health["version"] == __version__
    assert health["docker"] is docker_answers()  # what this machine's engine says, either way


def test_health_says_docker_is_absent_when_it_does_not_answer(clean_emulator, monkeypatch):
    # The probe asks the engine that DOCKER_HOST names on every call; here it names nothing.
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    health = requests.get(f"{clean_emulator.endpoint_url}/_emulator/health", timeout=30).json()
    assert health["docker"] is False


def test_health_needs_get(clean_emulator):
    response = requests.post(f"{clean_emulator.endpoint_url}/_emulator/health", timeout=30)
    assert response.status_code == 405


def _populate(emulator) -> None:
    emulator.client("ecs").create_cluster(clusterName="kept")
    emulator.client("ecs", account="111122223333", region="eu-west-1").create_cluster(
        clusterName="elsewhere")
    emulator.client("ecr").create_repository(repositoryName="images")
    emulator.client("ssm").put_parameter(Name="/kept", Value="v", Type="String")
    emulator.client("logs").create_log_group(logGroupName="/kept")


def _is_empty(emulator) -> bool:
    return (
        emulator.client("ecs").list_clusters()["clusterArns"] == []
        and emulator.client("ecs", account="111122223333", region="eu-west-1")
        .list_clusters()["clusterArns"] == []
        and emulator.client("ecr").describe_repositories()["repositories"] == []
        and emulator.client("ssm").describe_parameters()["Parameters"] == []
        and emulator.client("logs").describe_log_groups()["logGroups"] == []
    )


@pytest.mark.parametrize("path", ["/_emulator/reset", "/moto-api/reset"])
def test_reset_drops_ecs_and_moto_state(clean_emulator, path):
    _populate(clean_emulator)
    assert not _is_empty(clean_emulator)
    response = requests.post(f"{clean_emulator.endpoint_url}{path}", timeout=60)
    assert response.status_code == 200
    assert _is_empty(clean_emulator)
    # Built-in capacity providers come back with the fresh state.
    providers = clean_emulator.client("ecs").describe_capacity_providers()["capacityProviders"]
    assert {p["name"] for p in providers} >= {"FARGATE", "FARGATE_SPOT"}


def test_reset_needs_post(clean_emulator):
    _populate(clean_emulator)
    response = requests.get(f"{clean_emulator.endpoint_url}/_emulator/reset", timeout=30)
    assert response.status_code == 405
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"]

"""Which region our own commands (status, ps, logs, exec...) look in: the AWS CLI's order
(--region, AWS_REGION / AWS_DEFAULT_REGION, the AWS profile's) before an ECS CLI configuration,
which the ECS CLI's words (up, down, compose) keep first; and a hint where the region looked in
is empty while others have clusters."""

from __future__ import annotations

import pytest

from tests.test_cli_commands import CLUSTER, cli, run_busybox  # noqa: F401  (cli is a fixture)
from tests.waiting import wait_for_task

TUTORIAL = "ap-southeast-2"  # the README's ECS CLI tutorial's region


@pytest.fixture
def tutorial_left_behind(cli):
    """~/.ecs/config as the tutorial leaves it after `down --force`: its configuration, the
    default, in ap-southeast-2."""
    assert cli("configure", "--cluster", "tutorial", "--region", TUTORIAL,
               "--config-name", "tutorial")[0] == 0


@pytest.mark.parametrize("variable", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_the_shells_region_wins_over_the_tutorials_config(cli, tutorial_left_behind, cluster,
                                                          ecs, busybox_image, monkeypatch,
                                                          clean_emulator, variable):
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.setenv(variable, clean_emulator.region)
    arn = run_busybox(ecs, busybox_image, "sleep 60")
    wait_for_task(ecs, CLUSTER, arn, "RUNNING")
    code, out, _ = cli("ps")
    assert code == 0
    assert [row.split()[0] for row in out.splitlines()[1:]] == [
        f"{CLUSTER}/{arn.rsplit('/', 1)[1]}/main"]
    code, out, _ = cli("status")
    assert f"Region:   {clean_emulator.region}" in out and "Clusters: 1" in out
    # the configuration named on the command line is asked for: its region
    code, out, err = cli("status", "--cluster-config", "tutorial")
    assert f"Region:   {TUTORIAL}" in out and "Clusters: 0" in out
    ecs.stop_task(cluster=CLUSTER, task=arn)


def test_the_aws_profiles_region_comes_before_the_tutorials_config(cli, tutorial_left_behind,
                                                                   monkeypatch, tmp_path):
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(variable, raising=False)
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[profile dev]\nregion = eu-west-3\n"
                                              "[default]\nregion = eu-north-1\n")
    assert "Region:   eu-west-3" in cli("status", "--aws-profile", "dev")[1]
    assert "Region:   eu-north-1" in cli("status")[1]
    monkeypatch.setenv("AWS_PROFILE", "dev")
    assert "Region:   eu-west-3" in cli("status")[1]
    (tmp_path / ".aws" / "config").unlink()  # no AWS region anywhere: the config's, at last
    monkeypatch.delenv("AWS_PROFILE")
    assert f"Region:   {TUTORIAL}" in cli("status")[1]


def test_the_ecs_cli_words_keep_the_configs_region_first(cli, tutorial_left_behind,
                                                         clean_emulator):
    """`up` (an ECS CLI word) makes the tutorial's cluster in the configuration's region, with
    AWS_REGION exported as another: the ECS CLI's documented order."""
    assert cli("up", "--cluster-config", "tutorial")[0] == 0
    where = clean_emulator.client("ecs", region=TUTORIAL).list_clusters()["clusterArns"]
    assert [arn.rsplit("/", 1)[1] for arn in where] == ["tutorial"]
    assert clean_emulator.client("ecs").list_clusters()["clusterArns"] == []


def test_an_empty_region_says_where_the_clusters_are(cli, cluster, clean_emulator, monkeypatch):
    code, out, err = cli("ps", "--region", "eu-central-1")
    assert code == 0 and out.splitlines()[1:] == []
    # --region beats AWS_REGION: only --region is worth naming
    hint = (f"No clusters in eu-central-1; there are some in {clean_emulator.region} "
            f"(--region {clean_emulator.region})")
    assert hint in err.splitlines()
    code, out, err = cli("status", "--region", "eu-central-1")
    assert "Clusters: 0" in out and hint in err.splitlines()
    # the region came from AWS_REGION: changing it would do
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    assert f"(--region {clean_emulator.region}, or AWS_REGION)" in cli("ps")[2]
    monkeypatch.setenv("AWS_REGION", clean_emulator.region)
    # none where it looks and nowhere else: nothing to say
    clean_emulator.client("ecs").delete_cluster(cluster=cluster)
    assert "No clusters" not in cli("ps", "--region", "eu-central-1")[2]
    # a region with clusters: no hint either
    clean_emulator.client("ecs", region="eu-central-1").create_cluster(clusterName="there")
    assert "No clusters" not in cli("status", "--region", "eu-central-1")[2]


def test_a_failing_look_at_other_regions_is_no_failure_of_the_command(cli, cluster,
                                                                      monkeypatch):
    """The hint's ListClusters in each other region is a hint's: its refusal (or an emulator
    gone meanwhile) leaves the table printed and the exit code 0."""
    from botocore.exceptions import ClientError

    from emulator.cli_commands.connection import Connection

    made = Connection.client

    def refusing_elsewhere(self, service, region=None):
        client = made(self, service, region)
        if region not in (None, self.region):
            def refuse(**_):
                raise ClientError({"Error": {"Code": "AccessDeniedException",
                                             "Message": "not there"}}, "ListClusters")
            client.meta.events.register("before-call.ecs.ListClusters", refuse)
        return client

    monkeypatch.setattr(Connection, "client", refusing_elsewhere)
    for command in ("ps", "status"):
        code, out, err = cli(command, "--region", "eu-central-1")
        assert code == 0, err
        assert "No clusters" not in err and "Traceback" not in err

"""A stack update's clean-up phase over replaced and removed resources together: one that fails
is tried again while the others go, one it gives up on is its DELETE_FAILED event, and a removed
resource whose physical one the update adopted (an idempotent create) is not deleted."""

import json

import pytest

from tests.test_cloudformation_deploy import outputs
from tests.test_cloudformation_ecs import status, template
from tests.test_cloudformation_replace import events

pytestmark = pytest.mark.docker


def moved(image, logical, cluster_name):
    """The service (none desired) in a cluster of this logical id and name."""
    body = template(image, desired=0, cluster_name=cluster_name)
    body["Resources"][logical] = body["Resources"].pop("Cluster")
    body["Resources"]["Service"]["Properties"]["Cluster"] = {"Ref": logical}
    body["Outputs"] = {}
    return body


def cluster_status(ecs, name):
    return ecs.describe_clusters(clusters=[name])["clusters"][0]["status"]


def test_a_removed_cluster_goes_after_the_replaced_service_that_ran_in_it(clean_emulator,
                                                                          busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="hop", TemplateBody=json.dumps(
        moved(busybox_image, "ClusterA", "cfn-a")))
    # The service is replaced (its Cluster changed), ClusterA taken out: its delete fails while
    # the old service is still in it, and succeeds once that went.
    cfn.update_stack(StackName="hop", TemplateBody=json.dumps(
        moved(busybox_image, "ClusterB", "cfn-b")))
    assert status(cfn, "hop") == "UPDATE_COMPLETE"
    assert cluster_status(ecs, "cfn-a") == "INACTIVE"
    assert ecs.list_services(cluster="cfn-b")["serviceArns"]
    history = events(cfn, "hop")
    cleanup = [(logical, state) for logical, state, _ in history[
        history.index(("hop", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", history[-1][2])):]]
    assert ("ClusterA", "DELETE_COMPLETE") in cleanup
    assert ("Service", "DELETE_COMPLETE") in cleanup
    assert "DELETE_FAILED" not in {state for _, state in cleanup}
    cfn.delete_stack(StackName="hop")
    assert cluster_status(ecs, "cfn-b") == "INACTIVE"


def test_a_clean_up_delete_given_up_is_the_resources_delete_failed(clean_emulator,
                                                                    busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="stuck", TemplateBody=json.dumps(
        moved(busybox_image, "ClusterA", "cfn-a")))
    # A service not of the stack keeps ClusterA from going: the update succeeds all the same.
    ecs.create_service(cluster="cfn-a", serviceName="outsider", taskDefinition="cfn-web:1",
                       desiredCount=0, networkConfiguration={"awsvpcConfiguration": {
                           "subnets": ["subnet-12345678"]}})
    body = moved(busybox_image, "ClusterB", "cfn-b")
    body["Outputs"] = {"Cluster": {"Value": {"Ref": "ClusterB"}},
                       "Service": {"Value": {"Ref": "Service"}}}
    cfn.update_stack(StackName="stuck", TemplateBody=json.dumps(body))
    assert status(cfn, "stuck") == "UPDATE_COMPLETE"
    # The outputs name the replacements, the failed clean-up notwithstanding.
    out = outputs(cfn, "stuck")
    assert out["Cluster"] == "cfn-b" and ":service/cfn-b/" in out["Service"]
    found = cfn.describe_stack_events(StackName="stuck")["StackEvents"]
    failed = [e for e in found if e["ResourceStatus"] == "DELETE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["ClusterA"]
    assert "ClusterContainsServicesException" in failed[0]["ResourceStatusReason"]
    assert cluster_status(ecs, "cfn-a") == "ACTIVE"
    # No stale reason turns up as a second DELETE_FAILED when the stack goes.
    cfn.delete_stack(StackName="stuck")
    found = cfn.describe_stack_events(StackName="stuck")["StackEvents"]
    assert len([e for e in found if e["ResourceStatus"] == "DELETE_FAILED"]) == 1
    ecs.delete_service(cluster="cfn-a", service="outsider", force=True)
    ecs.delete_cluster(cluster="cfn-a")


def test_a_renamed_logical_id_keeps_the_cluster_its_create_adopted(clean_emulator,
                                                                    busybox_image):
    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="rename", TemplateBody=json.dumps(
        moved(busybox_image, "ClusterA", "cfn-same")))
    # CreateCluster of the same name returns the existing cluster: ClusterB is ClusterA's.
    cfn.update_stack(StackName="rename", TemplateBody=json.dumps(
        moved(busybox_image, "ClusterB", "cfn-same")))
    assert status(cfn, "rename") == "UPDATE_COMPLETE"
    assert cluster_status(ecs, "cfn-same") == "ACTIVE"
    assert not [e for e in events(cfn, "rename") if e[0] == "ClusterA" and e[1].startswith(
        "DELETE")]
    assert {r["LogicalResourceId"] for r in cfn.describe_stack_resources(
        StackName="rename")["StackResources"]} == {"ClusterB", "TaskDef", "Service"}
    cfn.delete_stack(StackName="rename")
    assert cluster_status(ecs, "cfn-same") == "INACTIVE"


def test_a_failed_rollback_deletes_what_the_update_made(clean_emulator, busybox_image,
                                                        monkeypatch):
    from emulator.aws.errors import AwsError
    from emulator.cloudformation.ecs_clusters import Cluster

    cfn, ecs = clean_emulator.client("cloudformation"), clean_emulator.client("ecs")
    cfn.create_stack(StackName="stranded", TemplateBody=json.dumps(
        template(busybox_image, desired=0, cluster_name="cfn-old")))

    def refused(self, api, properties):
        raise AwsError("refused for the test", code="ServerException", status=500)

    # The update adds ClusterB and replaces the service into it, then the old cluster's own
    # update fails, and so does the rollback's update of it back.
    monkeypatch.setattr(Cluster, "update_in_place", refused)
    body = moved(busybox_image, "ClusterB", "cfn-new")
    body["Resources"]["Cluster"] = template(busybox_image, cluster_name="cfn-old")[
        "Resources"]["Cluster"]
    body["Resources"]["Cluster"]["Properties"]["ClusterSettings"][0]["Value"] = "disabled"
    cfn.update_stack(StackName="stranded", TemplateBody=json.dumps(body))
    assert status(cfn, "stranded") == "UPDATE_ROLLBACK_FAILED"
    # Nothing tracks the new service and cluster any more: they went (the cluster could not
    # while the service was in it), not left running.
    assert cluster_status(ecs, "cfn-new") == "INACTIVE"
    monkeypatch.undo()
    cfn.delete_stack(StackName="stranded")
    assert cluster_status(ecs, "cfn-old") == "INACTIVE"

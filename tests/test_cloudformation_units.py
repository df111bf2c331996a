"""The pieces of emulator/cloudformation that need no server: template properties to API
requests by botocore's shapes, TemplateURL styles, and which resources an update touches."""

import json

import pytest

from api_shapes import load_service
from emulator.cloudformation.properties import tags_of, to_request
from emulator.cloudformation.template_inputs import bucket_and_key
from emulator.cloudformation.update_scope import _in_dependency_order, references


def test_service_properties_become_a_create_service_request():
    request = to_request(load_service("ecs"), "CreateService", {
        "Cluster": "c", "DesiredCount": "2", "EnableExecuteCommand": "true",
        "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE_SPOT", "Weight": "1",
                                      "Base": 0}],
        "PlacementStrategies": [{"Type": "spread", "Field": "attribute:ecs.availability-zone"}],
        "LoadBalancers": [{"TargetGroupArn": "arn:tg", "ContainerName": "web",
                           "ContainerPort": "80"}],
        "DeploymentConfiguration": {"DeploymentCircuitBreaker": {
                                        "Enable": True, "Rollback": "false",
                                        "ResetOnHealthyTask": "false",
                                        "ThresholdConfiguration": {"Type": "COUNT",
                                                                   "Value": "5"}},
                                    "Alarms": {"AlarmNames": ["a"], "Enable": True,
                                               "Rollback": False}},
        "NetworkConfiguration": {"AwsvpcConfiguration": {"Subnets": ["s"],
                                                         "AssignPublicIp": "ENABLED"}},
        "Tags": [{"Key": "k", "Value": "v"}],
        "ServiceArn": "not an input",
    }, serviceName="svc")
    assert request == {
        "cluster": "c", "serviceName": "svc", "desiredCount": 2, "enableExecuteCommand": True,
        "capacityProviderStrategy": [{"capacityProvider": "FARGATE_SPOT", "weight": 1,
                                      "base": 0}],
        "placementStrategy": [{"type": "spread", "field": "attribute:ecs.availability-zone"}],
        "loadBalancers": [{"targetGroupArn": "arn:tg", "containerName": "web",
                           "containerPort": 80}],
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {
                "enable": True, "rollback": False, "resetOnHealthyTask": False,
                "thresholdConfiguration": {"type": "COUNT", "value": 5}},
            "alarms": {"alarmNames": ["a"], "enable": True, "rollback": False}},
        "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s"],
                                                         "assignPublicIp": "ENABLED"}},
        "tags": [{"key": "k", "value": "v"}],
    }


def test_map_keys_stay_as_written_and_renamed_members_are_found():
    request = to_request(load_service("ecs"), "RegisterTaskDefinition", {
        "Cpu": 256, "ContainerDefinitions": [{
            "Name": "web", "DockerLabels": {"Com.Example": "X"},
            "LogConfiguration": {"LogDriver": "awslogs", "Options": {"awslogs-group": "g"}}}],
        "ProxyConfiguration": {"ContainerName": "envoy", "ProxyConfigurationProperties": [
            {"Name": "IgnoredUID", "Value": "1337"}]},
    }, family="f")
    container = request["containerDefinitions"][0]
    assert container["dockerLabels"] == {"Com.Example": "X"}
    assert container["logConfiguration"]["options"] == {"awslogs-group": "g"}
    assert request["cpu"] == "256"  # a string member written as a number
    assert request["proxyConfiguration"]["properties"] == [{"name": "IgnoredUID",
                                                            "value": "1337"}]
    cluster = to_request(load_service("ecs"), "CreateCluster", {
        "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}]})
    assert cluster == {"settings": [{"name": "containerInsights", "value": "enabled"}]}


def test_tags_of_the_template():
    assert tags_of({"Tags": [{"Key": "a", "Value": 1}, "junk"]}) == [{"Key": "a", "Value": "1"}]


def test_template_urls_in_every_style():
    ours = "127.0.0.1:4566"
    assert bucket_and_key("http://127.0.0.1:4566/b/dir/t.json", ours) == ("b", "dir/t.json")
    assert bucket_and_key("http://localhost:4566/b/t.json", ours) == ("b", "t.json")
    assert bucket_and_key("http://b.localhost:4566/t.json", ours) == ("b", "t.json")
    assert bucket_and_key("http://b.s3.localhost:4566/t.json", ours) == ("b", "t.json")
    assert bucket_and_key("http://emu:4566/b/t.json", "emu:4566") == ("b", "t.json")
    assert bucket_and_key("https://s3.amazonaws.com/b/t.json", ours) == ("b", "t.json")
    assert bucket_and_key("https://s3.eu-west-1.amazonaws.com/b/t.json", ours) == ("b", "t.json")
    assert bucket_and_key("https://my.bucket.s3.eu-west-1.amazonaws.com/t.json", ours) == (
        "my.bucket", "t.json")
    assert bucket_and_key("s3://b/k/t.json", ours) == ("b", "k/t.json")


def test_an_fn_sub_orders_by_what_its_string_names():
    """${X} is a Ref and ${X.Attr} an Fn::GetAtt, as CloudFormation orders by them (delete order,
    update scope); ${!X} is literal text, and the Sub's own variables name nothing."""
    body = {"Properties": {
        "Role": {"Fn::Sub": "${Role.Arn}"},
        "Name": {"Fn::Sub": "${Cluster}-${AWS::Region}-${!Literal}-${Own}"},
        "Listed": {"Fn::Sub": ["${Bucket.Arn}/${Own}", {"Own": {"Ref": "Queue"}}]}}}
    # the plain-string Sub has no variable map: its ${Own} is a reference
    assert references(body) == {"Role", "Cluster", "AWS::Region", "Own", "Bucket", "Queue"}
    listed = {"Fn::Sub": ["${Bucket.Arn}/${Own}", {"Own": {"Ref": "Queue"}}]}
    assert references(listed) == {"Bucket", "Queue"}
    assert references({"Fn::Sub": "${!Cluster} ${ }"}) == set()


def test_an_update_runs_after_the_updates_of_what_it_refers_to():
    body = {"Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Fn::GetAtt": ["TaskDef", "Arn"]},
            "DependsOn": "Role"}
    assert references(body) == {"Cluster", "TaskDef", "Role"}
    # a DependsOn below the resource's own is a property: a container's names containers
    task_definition = {"Type": "AWS::ECS::TaskDefinition", "DependsOn": ["Role"], "Properties": {
        "ExecutionRoleArn": {"Fn::GetAtt": "Role.Arn"},
        "ContainerDefinitions": [{"Name": "a", "DependsOn": [{"ContainerName": "b",
                                                              "Condition": "START"}]}]}}
    assert references(task_definition) == {"Role"}
    refs = {"Service": {"TaskDef", "Cluster"}, "TaskDef": {"Role"}, "Cluster": set(),
            "Role": set()}
    assert _in_dependency_order(["Service", "TaskDef", "Role"], refs) == [
        "Role", "TaskDef", "Service"]


def test_one_update_of_a_stack_at_a_time():
    """A second UpdateStack while one runs is refused in CloudFormation's words; the stack is
    free again once the first ends, however it ends."""
    import threading
    from types import SimpleNamespace

    import pytest
    from moto.cloudformation.exceptions import ValidationError

    from emulator.cloudformation import stack_life

    inside, release, seen = threading.Event(), threading.Event(), []

    def original(stack, template, role_arn, parameters, tags):
        seen.append(template)
        if template == "first":
            inside.set()
            release.wait(5)

    update = stack_life.wrap_stack_update(original)
    stack = SimpleNamespace(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
                            status="UPDATE_IN_PROGRESS")
    runs = []
    stack_life.run_update, real = (lambda s, apply, t, p: runs.append(apply())), \
        stack_life.run_update
    try:
        first = threading.Thread(target=update, args=(stack, "first"))
        first.start()
        assert inside.wait(5)
        with pytest.raises(ValidationError) as excinfo:
            update(stack, "second")
        assert "is in UPDATE_IN_PROGRESS state and can not be updated" in str(excinfo.value)
        release.set()
        first.join(5)
        update(stack, "third")
    finally:
        stack_life.run_update = real
    assert seen == ["first", "third"]


def test_a_delete_that_did_not_settle_is_not_waited_for_again_in_one_operation():
    """moto's DeleteStack tries a failed delete again while others progress; a service that did
    not drain within the stabilize timeout would be waited for as long again each round. The
    same logical id's other physical resource (a replacement) is still tried."""
    from types import SimpleNamespace

    import pytest

    from emulator.cloudformation import stack_life
    from emulator.cloudformation.resource import ResourceFailed

    tried = []

    def original(resource_map, resource, resource_json):
        tried.append(resource.physical_resource_id)
        raise ResourceFailed("Service web did not drain within 45 s.")

    delete = stack_life.wrap_delete_resource(original)
    stack = SimpleNamespace(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
                            name="s", events=[])
    resource_map = SimpleNamespace(stack_id=stack.stack_id, _account_id="123456789012",
                                   _region_name="us-east-1")
    old, new = (SimpleNamespace(logical_resource_id="Service", physical_resource_id=arn)
                for arn in ("arn:old", "arn:new"))
    for resource in (old, old, new, old):
        with pytest.raises(ResourceFailed, match="did not drain"):
            delete(resource_map, resource, {"Type": "AWS::ECS::Service"})
    assert tried == ["arn:old", "arn:new"]


def test_a_held_stack_shows_its_operation_and_a_failed_call_leaves_it_as_it_was():
    """stack_lock: the holder's status from the moment it holds the stack; a second operation
    is refused with the status it reads (DeleteStack in its own words); an operation that
    raises to its caller leaves the stack's status as it was, and the stack free."""
    from types import SimpleNamespace

    import pytest

    from emulator.cloudformation import stack_lock

    stack = SimpleNamespace(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/s/1",
                            status="CREATE_COMPLETE")
    with pytest.raises(RuntimeError):
        with stack_lock.exclusive(stack, "UPDATE_IN_PROGRESS", ValueError):
            assert stack.status == "UPDATE_IN_PROGRESS"
            with pytest.raises(ValueError, match="is in UPDATE_IN_PROGRESS state and can not"):
                stack_lock.exclusive(stack, "UPDATE_IN_PROGRESS", ValueError).__enter__()
            with pytest.raises(ValueError, match=r"Stack \[.*\] cannot be deleted while in "
                                                 "status UPDATE_IN_PROGRESS"):
                stack_lock.exclusive(stack, "DELETE_IN_PROGRESS", ValueError,
                                     stack_lock.undeletable_message).__enter__()
            raise RuntimeError("refused by the engine")
    assert stack.status == "CREATE_COMPLETE"
    with stack_lock.exclusive(stack, "DELETE_IN_PROGRESS", ValueError):
        stack.status = "DELETE_COMPLETE"  # the operation's own end
    assert stack.status == "DELETE_COMPLETE"


def test_a_change_set_is_checked_once_its_stack_is_free_and_never_left_in_progress():
    """ExecuteChangeSet: the change set's status is read under the hold (an update that held the
    stack may have made it OBSOLETE meanwhile: refused, the stack as it was); an error escaping
    the run leaves it EXECUTE_FAILED, not EXECUTE_IN_PROGRESS for good, and the stack free."""
    from types import SimpleNamespace

    import pytest

    from emulator.cloudformation import change_sets, stack_lock

    stack = SimpleNamespace(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/c/1",
                            status="CREATE_COMPLETE", name="c")
    change_set = SimpleNamespace(change_set_id="arn:cs/1", change_set_name="cs",
                                 stack_id=stack.stack_id, stack_name="c",
                                 change_set_type="CREATE", execution_status="AVAILABLE",
                                 template_dict={})

    class Stacks(dict):
        """Reading the stack is the moment an update that held it ends, making the change
        set OBSOLETE: after the change set was looked up, before the stack is held."""

        def _ended(self):
            with stack_lock.exclusive(stack, "UPDATE_IN_PROGRESS", ValueError):
                change_set.execution_status, stack.status = "OBSOLETE", "UPDATE_COMPLETE"

        def get(self, key, default=None):
            self._ended()
            return super().get(key, default)

        def __getitem__(self, key):
            self._ended()
            return super().__getitem__(key)

    backend = SimpleNamespace(change_sets={change_set.change_set_id: change_set},
                              stacks=Stacks({stack.stack_id: stack}))

    def outdated(*_):
        raise AssertionError("an OBSOLETE change set ran")

    execute = change_sets.wrap_execute_change_set(outdated)
    with pytest.raises(Exception, match=r"execution status of \[OBSOLETE\]") as refused:
        execute(backend, "cs", "c")
    assert refused.value.code == "InvalidChangeSetStatus"
    assert stack.status == "UPDATE_COMPLETE" and change_set.execution_status == "OBSOLETE"

    def broken_template():
        raise KeyError("Outputs")  # moto's output map, made after the resources

    stack._create_output_map = broken_template
    backend.stacks = {stack.stack_id: stack}
    change_set.execution_status = "AVAILABLE"
    execute = change_sets.wrap_execute_change_set(lambda *_: None)
    with pytest.raises(KeyError):
        execute(backend, "arn:cs/1")
    assert change_set.execution_status == "EXECUTE_FAILED"
    with stack_lock.exclusive(stack, "UPDATE_IN_PROGRESS", ValueError):
        pass  # free again


def test_a_restart_settles_the_operations_the_kill_cut_short():
    """Persisted state read back with a stack or change set in progress: no call runs it any
    more, so it ends failed (with an event saying why), except a stack a live call holds and
    REVIEW_IN_PROGRESS (a change set not executed yet)."""
    from moto.cloudformation.models import cloudformation_backends

    from emulator.cloudformation import stack_lock

    backend = cloudformation_backends["000000000042"]["us-east-1"]
    body = '{"Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}'
    statuses = {"CREATE_IN_PROGRESS": "CREATE_FAILED",
                "UPDATE_IN_PROGRESS": "UPDATE_ROLLBACK_FAILED",
                # the update had succeeded (or rolled back): only its clean-up was cut short
                "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_COMPLETE",
                "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS": "UPDATE_ROLLBACK_COMPLETE",
                "DELETE_IN_PROGRESS": "DELETE_FAILED",
                "REVIEW_IN_PROGRESS": "REVIEW_IN_PROGRESS",
                "UPDATE_COMPLETE": "UPDATE_COMPLETE"}
    stacks = {}
    try:
        for number, saved in enumerate(statuses):
            stacks[saved] = backend.create_stack(name=f"s{number}", template=body, parameters={})
        # made while its stack could still be updated (an update's change set is refused for a
        # stack in progress), then left running
        change_set_id, _ = backend.create_change_set(
            stack_name="s0", change_set_name="cs", template=body, parameters={},
            description=None, change_set_type="UPDATE")
        backend.change_sets[change_set_id].execution_status = "EXECUTE_IN_PROGRESS"
        for saved, stack in stacks.items():
            stack.status = saved
        live = backend.create_stack(name="live", template=body, parameters={})
        with stack_lock.exclusive(live, "UPDATE_IN_PROGRESS", ValueError):
            assert stack_lock.settle_interrupted() >= 5
            assert live.status == "UPDATE_IN_PROGRESS"  # its call is still running
        for saved, settled in statuses.items():
            assert stacks[saved].status == settled, saved
            last = stacks[saved].events[-1]
            reason = (stack_lock.NOT_CLEANED_UP if "CLEANUP" in saved
                      else stack_lock.INTERRUPTED_REASON)
            assert (last.resource_status, last.resource_status_reason) == (
                (settled, reason) if settled != saved else ("CREATE_COMPLETE", None)), saved
        assert backend.change_sets[change_set_id].execution_status == "EXECUTE_FAILED"
    finally:
        backend.reset()


def test_a_snapshot_taken_during_a_rollback_brings_back_none_of_its_marks():
    """A stack saved while its update rolled back (a kill then) and read back: a later update
    updates what changed, not everything that refers to the parameters the rollback changed,
    and runs as an update, not as a rollback."""
    import json

    from moto.cloudformation.models import cloudformation_backends

    from emulator.cloudformation import _install_into_moto, stack_lock
    from emulator.cloudformation.update_scope import parameters_changed
    from emulator.persistence import moto_parts, snapshot

    _install_into_moto()
    backend = cloudformation_backends["000000000044"]["us-east-1"]
    template = {"Parameters": {"P": {"Type": "String", "Default": "a"}}, "Resources": {
        "H": {"Type": "AWS::CloudFormation::WaitConditionHandle",
              "Metadata": {"uses": {"Ref": "P"}}}}}
    try:
        stack = backend.create_stack(name="marks", template=json.dumps(template), parameters={})
        resource_map = stack.resource_map
        stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
        resource_map.rolling_back = resource_map._emulator_updating = True  # as run_update
        with parameters_changed(resource_map, frozenset({"P"})):
            assert resource_map.build_resource_diff(template)["Modify"] == ["H"]
            saved = snapshot.dumps(stack, moto_parts._References())
        backend.stacks[stack.stack_id] = snapshot.loads(saved, moto_parts.resolve)
        stack_lock.settle_interrupted()

        restored = backend.stacks[stack.stack_id]
        assert restored.status == "UPDATE_ROLLBACK_FAILED"
        assert restored.resource_map.build_resource_diff(template)["Modify"] == []
        assert not getattr(restored.resource_map, "rolling_back", False)
        assert not getattr(restored.resource_map, "_emulator_updating", False)
    finally:
        backend.reset()


def test_reading_a_stack_being_deleted_makes_nothing_again():
    """moto's resource map makes a resource on first read, and its delete takes each one out as
    it goes: a DescribeStacks meanwhile (the CDK's destroy polls it) resolved the exported Ref
    output and made the deleted SSM parameter again, left after DELETE_COMPLETE. Now the
    outputs are the ones the stack had, nothing is made again, and the exports go."""
    import json

    from moto.cloudformation import parsing
    from moto.cloudformation.models import cloudformation_backends
    from moto.ssm.models import ssm_backends

    from emulator.cloudformation import _install_into_moto

    _install_into_moto()
    backend = cloudformation_backends["000000000043"]["us-east-1"]
    ssm = ssm_backends["000000000043"]["us-east-1"]
    body = json.dumps({"Resources": {
        name: {"Type": "AWS::SSM::Parameter",
               "Properties": {"Name": f"/t/{name}", "Type": "String", "Value": "x"}}
        for name in ("A", "B", "C")},
        "Outputs": {"OutA": {"Value": {"Ref": "A"}, "Export": {"Name": "t-a"}},
                    "OutC": {"Value": {"Ref": "C"}, "Export": {"Name": "t-c"}}}})
    stack = backend.create_stack(name="leak", template=body, parameters={})
    assert stack.status == "CREATE_COMPLETE" and sorted(ssm._parameters) == ["/t/A", "/t/B",
                                                                             "/t/C"]
    shown, real = [], parsing.ResourceMap._delete_resource

    def describe_then_delete(resource_map, resource, resource_json):
        # before each: moto takes a resource out of the map once its delete has returned
        described = backend.describe_stacks("leak")[0]
        shown.append((described.status, described.outputs))
        real(resource_map, resource, resource_json)

    parsing.ResourceMap._delete_resource = describe_then_delete
    try:
        backend.delete_stack("leak")
    finally:
        parsing.ResourceMap._delete_resource = real
        remaining = sorted(ssm._parameters)
        backend.reset()
        ssm.reset()
    outputs = [{"OutputKey": "OutA", "OutputValue": "/t/A", "Description": None,
                "ExportName": "t-a"},
               {"OutputKey": "OutC", "OutputValue": "/t/C", "Description": None,
                "ExportName": "t-c"}]
    assert shown == [("DELETE_IN_PROGRESS", outputs)] * 3
    assert stack.status == "DELETE_COMPLETE" and remaining == []
    statuses = [e.resource_status for e in stack.events]
    after = statuses[statuses.index("DELETE_IN_PROGRESS"):]
    assert not [s for s in after if s.startswith("CREATE")], after
    assert backend.exports == {}


def test_a_change_set_shows_in_progress_from_the_moment_its_stack_is_held():
    """The change set's status is read, and EXECUTE_IN_PROGRESS set, under the lock's guard
    with the hold (no caller sees the stack held and the change set still AVAILABLE: a
    DeleteChangeSet there reached moto's delete of a running change set, a 500); a retry of a
    running change set is accepted at once, not held until the run ends."""
    from types import SimpleNamespace

    import pytest

    from emulator.cloudformation import change_sets, stack_lock

    stack = SimpleNamespace(stack_id="arn:aws:cloudformation:us-east-1:123456789012:stack/h/1",
                            status="UPDATE_COMPLETE", name="h", _create_output_map=dict,
                            _parse_template=lambda: None, template_dict={})
    change_set = SimpleNamespace(change_set_id="arn:cs/2", change_set_name="cs",
                                 stack_id=stack.stack_id, stack_name="h", template="{}",
                                 parameters={}, role_arn=None, change_set_type="UPDATE",
                                 execution_status="AVAILABLE", template_dict={})
    backend = SimpleNamespace(change_sets={change_set.change_set_id: change_set},
                              stacks={stack.stack_id: stack})
    seen = []

    def held(status):
        def check():
            seen.append((status, stack_lock._guard.locked(), change_set.execution_status))
        return check

    with stack_lock.exclusive(stack, "UPDATE_IN_PROGRESS", ValueError, check=held("check"),
                              on_hold=held("on_hold")):
        pass
    assert seen == [("check", True, "AVAILABLE"), ("on_hold", True, "AVAILABLE")]

    def running(*_):
        # the run is in progress: its change set says so; deleting it is refused (400)
        assert change_set.execution_status == "EXECUTE_IN_PROGRESS"
        with pytest.raises(Exception, match="currently in progress") as refused:
            change_sets.delete_change_set(backend, "arn:cs/2")
        assert refused.value.code == "InvalidChangeSetStatus"
        assert execute(backend, "arn:cs/2") is None  # a retry: accepted, not waited for
        seen.append("ran")
        change_set.execution_status = "EXECUTE_COMPLETE"  # moto's, at the end of its run

    change_sets.run_update, real = (lambda stack, apply, *_: apply() or True), \
        change_sets.run_update
    try:
        execute = change_sets.wrap_execute_change_set(running)
        execute(backend, "arn:cs/2")
    finally:
        change_sets.run_update = real
    assert seen[-1] == "ran" and change_set.execution_status == "EXECUTE_COMPLETE"


def test_only_resources_whose_rollback_failed_may_be_skipped():
    """ResourcesToSkip takes a resource UPDATE_FAILED in a rollback, not one that failed in
    the update and was not rolled back since; a ContinueUpdateRollback refused meanwhile (no
    resource events) changes nothing of that."""
    from types import SimpleNamespace

    from emulator.cloudformation.continue_rollback import _failed_in_rollback

    stack_id = "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1"

    def event(logical_id, status):
        # The stack's own events carry its id; a resource's, its own (none while in progress).
        return SimpleNamespace(logical_resource_id=logical_id, resource_status=status,
                               physical_resource_id=stack_id if logical_id == "s" else "")

    stack = SimpleNamespace(name="s", stack_id=stack_id, events=[
        event("s", "UPDATE_IN_PROGRESS"),
        event("Web", "UPDATE_IN_PROGRESS"), event("Web", "UPDATE_COMPLETE"),
        event("Other", "UPDATE_IN_PROGRESS"), event("Other", "UPDATE_FAILED"),
        event("Third", "UPDATE_IN_PROGRESS"), event("Third", "UPDATE_FAILED"),
        event("s", "UPDATE_ROLLBACK_IN_PROGRESS"),
        event("Web", "UPDATE_IN_PROGRESS"), event("Web", "UPDATE_FAILED"),
        event("Other", "UPDATE_IN_PROGRESS"), event("Other", "UPDATE_COMPLETE"),
        event("s", "UPDATE_ROLLBACK_FAILED"),
        event("s", "UPDATE_ROLLBACK_IN_PROGRESS"), event("s", "UPDATE_ROLLBACK_FAILED")])
    assert _failed_in_rollback(stack) == {"Web"}  # Third failed in the update itself
    stack.events[8:] = []  # an update cut short: no rollback ran
    stack.events.append(event("s", "UPDATE_ROLLBACK_FAILED"))
    assert _failed_in_rollback(stack) == set()


def test_lists_a_cut_short_operation_left_are_owed_a_delete():
    """Read back from persisted state, an update's lists give the next operation what the stack
    no longer uses: the replaced resource (not one UpdateReplacePolicy Retain keeps), the
    replacement a rollback had put the old one back over, a resource out of the template."""
    from types import SimpleNamespace

    from emulator.cloudformation import replacements
    from emulator.cloudformation.replacements import Removed, Replaced

    old_web, new_web, old_kept, new_kept, old_back, new_back, gone = (
        SimpleNamespace(name=n) for n in ("old-web", "new-web", "old-kept", "new-kept",
                                          "old-back", "new-back", "gone"))
    resources_map = SimpleNamespace(
        _parsed_resources={"Web": new_web, "Kept": new_kept, "Back": old_back, "Gone": gone},
        _resource_json_map={"Web": {}, "Kept": {}, "Back": {}})
    resources_map._emulator_replaced = [
        Replaced("Web", "AWS::ECS::Service", old_web, new_web, "Delete", False),
        Replaced("Kept", "AWS::ECS::Service", old_kept, new_kept, "Retain", False),
        Replaced("Back", "AWS::ECS::Service", old_back, new_back, "Delete", False)]
    resources_map._emulator_removed = [Removed("Gone", gone, {"Type": "AWS::ECS::Cluster"})]
    replacements.begin(resources_map)
    assert [(e.logical_id, e.resource.name) for e in resources_map._emulator_owed] == [
        ("Web", "old-web"), ("Back", "new-back"), ("Gone", "gone")]
    assert resources_map._emulator_replaced == resources_map._emulator_removed == []
    replacements.end(resources_map)
    assert len(resources_map._emulator_owed) == 3  # until a clean-up phase deletes them


def test_a_stack_s_parameters_are_read_from_the_template_in_force():
    """A stack persisted before change sets parsed their template keeps the one from before in
    moto's template_dict; its resource map has the one in force, which its parameters (shown,
    previous, an update's explicit ones) come from."""
    from types import SimpleNamespace

    from emulator.cloudformation import parameter_values, stack_parameters

    before = {"Parameters": {"Old": {"Type": "String"}}}
    in_force = {"Parameters": {"Old": {"Type": "String"},
                               "New": {"Type": "String", "Default": "n"}}}
    resource_map = SimpleNamespace(_template=in_force, input_parameters={"Old": "o"},
                                   resolved_parameters={})
    stack = SimpleNamespace(template_dict=before, resource_map=resource_map)
    assert parameter_values.previous(stack) == {"Old": "o", "New": "n"}
    assert stack_parameters.shown(stack) == [{"ParameterKey": "Old", "ParameterValue": "o"},
                                             {"ParameterKey": "New", "ParameterValue": "n"}]
    # What the last operation was given stays, though the template no longer declares it.
    resource_map.input_parameters = {"Old": "o", "Gone": "g"}
    assert parameter_values.explicit(stack) == {"Old": "o", "Gone": "g", "New": "n"}


class _FailedDeploymentApi:
    """A service whose deployment failed for `reason` (its breaker TRIGGERED or not), and, with
    `replaced`, was rolled back and is gone from the service's list."""

    settings = type("Settings", (), {"cfn_stabilize_timeout_s": 5})()

    def __init__(self, reason: str, breaker: bool, replaced: bool = False):
        self.reason, self.breaker, self.replaced, self.polls = reason, breaker, replaced, 0

    def ecs(self, operation: str, params: dict) -> dict:
        if operation == "DescribeServiceDeployments":
            return {"serviceDeployments": [{
                "deploymentCircuitBreaker": {"status": "TRIGGERED" if self.breaker else
                                             "MONITORING_COMPLETE"},
                "rollback": {"reason": self.reason}}]}
        self.polls += 1
        failed = {"id": "ecs-svc/1", "rolloutState": "FAILED" if self.polls > 1 else "IN_PROGRESS",
                  "rolloutStateReason": self.reason}
        rollback = {"id": "ecs-svc/2", "rolloutState": "IN_PROGRESS"}
        deployments = ([rollback] if self.replaced else [failed]) if self.polls > 1 else [failed]
        return {"services": [{
            "status": "ACTIVE", "deployments": deployments, "runningCount": 0,
            "desiredCount": 1, "currentServiceDeployment": f"arn:sd/{deployments[0]['id']}",
            "events": [{"message": "(service s) was rolled back."}]}]}


def test_only_the_circuit_breaker_s_failure_is_reported_in_its_words():
    from emulator.cloudformation.ecs_services import CircuitBreakerTripped, wait_until_steady
    from emulator.cloudformation.resource import ResourceFailed
    from emulator.engine.service_failures import BREAKER_REASON

    def failure(api) -> ResourceFailed:
        with pytest.raises(ResourceFailed) as raised:
            wait_until_steady(api, "c", "s", "ecs-svc/1")
        return raised.value

    for replaced in (False, True):
        assert isinstance(failure(_FailedDeploymentApi(BREAKER_REASON, True, replaced)),
                          CircuitBreakerTripped)
        alarm = "ECS deployment failed: alarm(s) high-cpu in ALARM state."
        hook = "Rolled back at POST_SCALE_UP: ROLLBACK requested by ContinueServiceDeployment."
        for reason in (alarm, hook):
            error = failure(_FailedDeploymentApi(reason, False, replaced))
            assert not isinstance(error, CircuitBreakerTripped)
            assert reason in str(error)


def test_a_failed_rollback_names_the_resources_whose_delete_failed(monkeypatch):
    """Not the last error moto kept, which may be a healthy resource's wait for a failed one
    ("TaskDef is still referred to.")."""
    from types import SimpleNamespace

    from emulator.cloudformation import stack_life, teardown
    from emulator.cloudformation.resource import NotYet

    class Resources:
        def delete(self):
            stack_life.delete_reasons(self)["Service", "arn:svc"] = (
                "AWS::ECS::Service", "The service did not drain.", False)
            raise NotYet("TaskDef is still referred to.")

    stack = SimpleNamespace(stack_id="id", name="s", events=[], status="CREATE_IN_PROGRESS",
                            resource_map=Resources())
    stack._add_stack_event = lambda status, resource_status_reason=None: stack.events.append(
        SimpleNamespace(logical_resource_id="s", resource_status=status,
                        resource_status_reason=resource_status_reason))
    monkeypatch.setattr(teardown, "drop_outputs", lambda stack: None)
    stack_life.roll_back_create(stack, RuntimeError("Service failed"))
    assert stack.status == "ROLLBACK_FAILED"
    assert stack.events[-1].resource_status_reason == (
        "The following resource(s) failed to delete: [Service]. ")


def test_a_nested_stack_s_event_does_not_start_a_new_phase():
    """Only the stack's own events (its name as logical id) start an operation or phase; a
    nested stack resource's have the same type."""
    from types import SimpleNamespace

    from emulator.cloudformation.stack_life import _told_since_stack_event

    def event(logical_id: str, kind: str, physical_id: str = ""):
        return SimpleNamespace(logical_resource_id=logical_id, resource_type=kind,
                               physical_resource_id=physical_id)

    stack = SimpleNamespace(name="app", events=[
        event("app", "AWS::CloudFormation::Stack", "arn:stack/app"),
        event("Queue", "AWS::SQS::Queue", "q"),
        event("Nested", "AWS::CloudFormation::Stack", "arn:stack/app-Nested")])
    assert _told_since_stack_event(stack, "Queue", "q")
    stack.events.append(event("app", "AWS::CloudFormation::Stack", "arn:stack/app"))
    assert not _told_since_stack_event(stack, "Queue", "q")


def test_made_up_regions_share_us_east_1_s_list_of_types():
    """The region is the caller's SigV4 scope: each made-up one cached cfn-lint's ~400 KB list
    of types again (4 GB for 10,000 calls). Unknown regions (a path among them) read us-east-1's."""
    from emulator.cloudformation import template_types

    template = {"Resources": {"S": {"Type": "AWS::ECS::Servce"}}}
    for cached in (template_types._providers, template_types._known_types_in,
                   template_types._declared_properties_in):
        cached.cache_clear()
    regions = [f"made-up-{n}" for n in range(50)] + ["../resources/aws-ecs-service", "us-east-1"]
    for region in regions:
        assert template_types.unrecognized(template, region) == ["AWS::ECS::Servce"]
        assert "TaskDefinition" in template_types.declared_properties("AWS::ECS::Service", region)
    assert template_types._providers.cache_info().currsize == 1
    assert template_types._known_types_in.cache_info().currsize == 1
    assert template_types._declared_properties_in.cache_info().currsize == 1
    assert template_types.unrecognized(template, "eu-west-1") == ["AWS::ECS::Servce"]
    assert template_types._providers.cache_info().currsize == 2  # a real region: its own list


def test_only_the_schemas_property_names_are_declared(tmp_path, monkeypatch):
    """CloudFormation refuses any property its registry schema lacks, names its API has
    included (the singular `PlacementStrategy`, the request-only `ClientToken`), and matches
    names case-sensitively."""
    from emulator.cloudformation import template_types

    (tmp_path / "providers").mkdir()
    (tmp_path / "resources").mkdir()
    (tmp_path / "providers" / "us-east-1.json").write_text(
        json.dumps({"AWS::ECS::Service": "aws-ecs-service"}))
    (tmp_path / "resources" / "aws-ecs-service.json").write_text(json.dumps(
        {"additionalProperties": False, "properties": {"DesiredCount": {}, "Cluster": {},
                                                       "PlacementStrategies": {}}}))
    monkeypatch.setattr(template_types, "_schemas", lambda: tmp_path)
    for cached in (template_types._regions, template_types._providers,
                   template_types._declared_properties_in):
        cached.cache_clear()
    try:
        declared = template_types.declared_properties("AWS::ECS::Service", "us-east-1")
    finally:
        for cached in (template_types._regions, template_types._providers,
                       template_types._declared_properties_in):
            cached.cache_clear()
    assert declared == {"DesiredCount", "Cluster", "PlacementStrategies"}
    assert "DesiredCont" not in declared and "desiredCount" not in declared

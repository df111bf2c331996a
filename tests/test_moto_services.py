"""The AWS services we do not emulate ourselves are served by moto on the same port.

One meaningful call per service a user of ECS needs next to it (create, then read back), the
account rule (a 12-digit access key id is the account) for moto's services too, and the AWS CLI
pointed at the emulator with AWS_ENDPOINT_URL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

OTHER_ACCOUNT = "210987654321"
DEFAULT_ACCOUNT = "123456789012"


@pytest.fixture
def aws(clean_emulator):
    """aws(service, account=None, region=None): a boto3 client of any service, aimed at us."""
    return clean_emulator.client


def test_sts_caller_identity_follows_the_access_key(aws):
    assert aws("sts", account=OTHER_ACCOUNT).get_caller_identity()["Account"] == OTHER_ACCOUNT
    assert aws("sts").get_caller_identity()["Account"] == DEFAULT_ACCOUNT


def test_iam_role_in_the_callers_account(aws):
    iam = aws("iam", account=OTHER_ACCOUNT)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    created = iam.create_role(RoleName="task-role", AssumeRolePolicyDocument=json.dumps(trust))
    assert created["Role"]["Arn"] == f"arn:aws:iam::{OTHER_ACCOUNT}:role/task-role"
    assert iam.get_role(RoleName="task-role")["Role"]["RoleName"] == "task-role"
    # Another account does not see it.
    with pytest.raises(aws("iam").exceptions.NoSuchEntityException):
        aws("iam").get_role(RoleName="task-role")


def test_ec2_vpc_and_subnet(aws):
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    found = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
    assert [s["SubnetId"] for s in found] == [subnet]


def test_cloudwatch_logs_in_the_signed_region(aws):
    logs = aws("logs", region="eu-west-1")
    logs.create_log_group(logGroupName="/ecs/app")
    logs.create_log_stream(logGroupName="/ecs/app", logStreamName="web/1")
    logs.put_log_events(logGroupName="/ecs/app", logStreamName="web/1",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
    events = logs.get_log_events(logGroupName="/ecs/app", logStreamName="web/1")["events"]
    assert [e["message"] for e in events] == ["hello"]
    group = logs.describe_log_groups()["logGroups"][0]
    assert group["arn"].startswith(f"arn:aws:logs:eu-west-1:{DEFAULT_ACCOUNT}:log-group:/ecs/app")
    assert aws("logs").describe_log_groups()["logGroups"] == []  # us-east-1 has none


def test_ssm_parameter(aws):
    ssm = aws("ssm", account=OTHER_ACCOUNT)
    ssm.put_parameter(Name="/app/db-host", Value="db.local", Type="String")
    parameter = ssm.get_parameter(Name="/app/db-host")["Parameter"]
    assert parameter["Value"] == "db.local"
    assert parameter["ARN"] == f"arn:aws:ssm:us-east-1:{OTHER_ACCOUNT}:parameter/app/db-host"


def test_secrets_manager_secret(aws):
    secrets = aws("secretsmanager")
    arn = secrets.create_secret(Name="db-password", SecretString="s3cret")["ARN"]
    assert f":{DEFAULT_ACCOUNT}:secret:db-password" in arn
    assert secrets.get_secret_value(SecretId=arn)["SecretString"] == "s3cret"


def test_s3_object(aws):
    s3 = aws("s3")
    s3.create_bucket(Bucket="env-files")
    s3.put_object(Bucket="env-files", Key="app.env", Body=b"A=1\n")
    assert s3.get_object(Bucket="env-files", Key="app.env")["Body"].read() == b"A=1\n"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["env-files"]


def test_elbv2_target_group(aws):
    vpc = aws("ec2").create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    elb = aws("elbv2")
    arn = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc,
                                  TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    assert arn.startswith(f"arn:aws:elasticloadbalancing:us-east-1:{DEFAULT_ACCOUNT}:targetgroup/web/")
    described = elb.describe_target_groups(TargetGroupArns=[arn])["TargetGroups"][0]
    assert (described["TargetGroupName"], described["TargetType"]) == ("web", "ip")


def test_service_discovery_namespace_and_service(aws):
    vpc = aws("ec2").create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    sd = aws("servicediscovery")
    sd.create_private_dns_namespace(Name="internal.local", Vpc=vpc)
    namespace = sd.list_namespaces()["Namespaces"][0]
    assert namespace["Name"] == "internal.local"
    service = sd.create_service(Name="api", NamespaceId=namespace["Id"],
                                DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})["Service"]
    assert sd.get_service(Id=service["Id"])["Service"]["Name"] == "api"


def test_eventbridge_rule(aws):
    events = aws("events")
    arn = events.put_rule(Name="nightly", ScheduleExpression="cron(0 3 * * ? *)")["RuleArn"]
    assert arn == f"arn:aws:events:us-east-1:{DEFAULT_ACCOUNT}:rule/nightly"
    assert events.describe_rule(Name="nightly")["ScheduleExpression"] == "cron(0 3 * * ? *)"


def test_cloudformation_stack_creates_resources_in_moto(aws):
    cfn = aws("cloudformation")
    template = {"Resources": {"Logs": {"Type": "AWS::Logs::LogGroup",
                                       "Properties": {"LogGroupName": "from-a-stack"}}}}
    cfn.create_stack(StackName="infra", TemplateBody=json.dumps(template))
    assert cfn.describe_stacks(StackName="infra")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    groups = aws("logs").describe_log_groups()["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["from-a-stack"]


def test_cloudwatch_metrics(aws):
    cloudwatch = aws("cloudwatch")
    cloudwatch.put_metric_data(Namespace="App", MetricData=[{"MetricName": "Hits", "Value": 3.0}])
    metrics = cloudwatch.list_metrics(Namespace="App")["Metrics"]
    assert [m["MetricName"] for m in metrics] == ["Hits"]


# -- the AWS CLI ----------------------------------------------------------------------------


def run_aws_cli(endpoint_url: str, tmp_path: Path, *args: str, access_key: str = "testing"):
    """The AWS CLI from this virtualenv, configured only by environment variables."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    aws = Path(sys.executable).with_name("aws")
    done = subprocess.run([str(aws), *args, "--output", "json"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli_against_ecs(clean_emulator, tmp_path):
    url = clean_emulator.endpoint_url
    created = run_aws_cli(url, tmp_path, "ecs", "create-cluster", "--cluster-name", "from-cli",
                          access_key=OTHER_ACCOUNT)
    assert created["cluster"]["clusterArn"] == (
        f"arn:aws:ecs:us-east-1:{OTHER_ACCOUNT}:cluster/from-cli")
    listed = run_aws_cli(url, tmp_path, "ecs", "list-clusters", access_key=OTHER_ACCOUNT)
    assert listed["clusterArns"] == [created["cluster"]["clusterArn"]]


def test_aws_cli_against_a_moto_service(clean_emulator, tmp_path):
    url = clean_emulator.endpoint_url
    run_aws_cli(url, tmp_path, "ssm", "put-parameter", "--name", "/cli/p", "--value", "v",
                "--type", "String")
    got = run_aws_cli(url, tmp_path, "ssm", "get-parameter", "--name", "/cli/p")
    assert got["Parameter"]["Value"] == "v"
    identity = run_aws_cli(url, tmp_path, "sts", "get-caller-identity", access_key=OTHER_ACCOUNT)
    assert identity["Account"] == OTHER_ACCOUNT


@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_a_presigned_url_carries_the_account_in_its_query(aws, signature_version):
    import requests
    from botocore.config import Config

    s3 = aws("s3", account=OTHER_ACCOUNT, config=Config(signature_version=signature_version))
    s3.create_bucket(Bucket="shared-files")
    s3.put_object(Bucket="shared-files", Key="a.txt", Body=b"from the other account")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "shared-files", "Key": "a.txt"})
    assert OTHER_ACCOUNT in url
    response = requests.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.content == b"from the other account"
    # The default account has no such bucket.
    assert aws("s3").list_buckets()["Buckets"] == []

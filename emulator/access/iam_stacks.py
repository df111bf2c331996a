"""Which IAM actions a CloudFormation stack's caller needs for each resource the stack makes.

On AWS a stack without a service role acts with its caller's credentials: making an IAM user
needs iam:CreateUser as much as calling CreateUser does. moto's stack engine makes resources
directly, with no check, so under ECS_EMULATOR_ENFORCE_IAM cloudformation:CreateStack alone
would be IAM admin. Each resource is checked against the stack caller's policies before it is
made (or updated), with the actions its type's create handler needs (the CloudFormation
resource schemas' `handlers.create.permissions`, reduced to the ones that grant something),
plus iam:PassRole on every role it hands to a service. IAM resources are checked on the ARNs
of the users, roles, groups and policies they make or act on; the other types' actions on `*`:
a simplification the README names. A type with no entry here is refused: a stack must not make
what no check covers. Deleting a stack's IAM resources needs their delete actions (deleting the
other types' is not checked).

The emulator's own ECS and ECR types are not listed: they call the ECS and ECR APIs, which check
each call as its caller's own (iam_resources.py).
"""

from __future__ import annotations

import re

# Resource types that make nothing that grants anything (the CDK's metadata marker).
NOTHING = frozenset({"AWS::CDK::Metadata", "AWS::CloudFormation::WaitConditionHandle"})

# type -> the actions its create needs whatever its properties.
CREATE = {
    # IAM: the properties add more (see _iam_actions).
    "AWS::IAM::User": ("iam:CreateUser",),
    "AWS::IAM::Role": ("iam:CreateRole",),
    "AWS::IAM::Group": ("iam:CreateGroup",),
    "AWS::IAM::Policy": (),
    "AWS::IAM::ManagedPolicy": ("iam:CreatePolicy",),
    "AWS::IAM::AccessKey": ("iam:CreateAccessKey",),
    "AWS::IAM::InstanceProfile": ("iam:CreateInstanceProfile",),
    "AWS::IAM::UserToGroupAddition": ("iam:AddUserToGroup",),
    # EC2 and its network.
    "AWS::EC2::VPC": ("ec2:CreateVpc",),
    "AWS::EC2::Subnet": ("ec2:CreateSubnet",),
    "AWS::EC2::SecurityGroup": ("ec2:CreateSecurityGroup",),
    "AWS::EC2::SecurityGroupIngress": ("ec2:AuthorizeSecurityGroupIngress",),
    "AWS::EC2::SecurityGroupEgress": ("ec2:AuthorizeSecurityGroupEgress",),
    "AWS::EC2::InternetGateway": ("ec2:CreateInternetGateway",),
    "AWS::EC2::VPCGatewayAttachment": ("ec2:AttachInternetGateway",),
    "AWS::EC2::RouteTable": ("ec2:CreateRouteTable",),
    "AWS::EC2::Route": ("ec2:CreateRoute",),
    "AWS::EC2::SubnetRouteTableAssociation": ("ec2:AssociateRouteTable",),
    "AWS::EC2::EIP": ("ec2:AllocateAddress",),
    "AWS::EC2::NatGateway": ("ec2:CreateNatGateway",),
    "AWS::EC2::NetworkInterface": ("ec2:CreateNetworkInterface",),
    "AWS::EC2::Instance": ("ec2:RunInstances",),
    "AWS::EC2::LaunchTemplate": ("ec2:CreateLaunchTemplate",),
    "AWS::EC2::Volume": ("ec2:CreateVolume",),
    "AWS::EC2::VolumeAttachment": ("ec2:AttachVolume",),
    "AWS::EC2::VPCEndpoint": ("ec2:CreateVpcEndpoint",),
    "AWS::EC2::VPCPeeringConnection": ("ec2:CreateVpcPeeringConnection",),
    "AWS::EC2::VPNGateway": ("ec2:CreateVpnGateway",),
    "AWS::EC2::TransitGateway": ("ec2:CreateTransitGateway",),
    "AWS::EC2::FlowLog": ("ec2:CreateFlowLogs",),
    "AWS::EC2::SpotFleet": ("ec2:RequestSpotFleet",),
    # What tasks and services use.
    "AWS::Logs::LogGroup": ("logs:CreateLogGroup",),
    "AWS::Logs::ResourcePolicy": ("logs:PutResourcePolicy",),
    "AWS::S3::Bucket": ("s3:CreateBucket",),
    "AWS::SSM::Parameter": ("ssm:PutParameter",),
    "AWS::SSM::Document": ("ssm:CreateDocument",),
    "AWS::SecretsManager::Secret": ("secretsmanager:CreateSecret",),
    "AWS::KMS::Key": ("kms:CreateKey",),
    "AWS::KMS::Alias": ("kms:CreateAlias",),
    "AWS::Lambda::Function": ("lambda:CreateFunction",),
    "AWS::Lambda::Permission": ("lambda:AddPermission",),
    "AWS::Lambda::Version": ("lambda:PublishVersion",),
    "AWS::Lambda::LayerVersion": ("lambda:PublishLayerVersion",),
    "AWS::Lambda::EventSourceMapping": ("lambda:CreateEventSourceMapping",),
    "AWS::SNS::Topic": ("sns:CreateTopic",),
    "AWS::SQS::Queue": ("sqs:CreateQueue",),
    "AWS::DynamoDB::Table": ("dynamodb:CreateTable",),
    "AWS::Kinesis::Stream": ("kinesis:CreateStream",),
    "AWS::Events::Rule": ("events:PutRule",),
    "AWS::Events::EventBus": ("events:CreateEventBus",),
    "AWS::Events::Archive": ("events:CreateArchive",),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elasticloadbalancing:CreateLoadBalancer",),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elasticloadbalancing:CreateTargetGroup",),
    "AWS::ElasticLoadBalancingV2::Listener": ("elasticloadbalancing:CreateListener",),
    "AWS::ElasticLoadBalancingV2::ListenerRule": ("elasticloadbalancing:CreateRule",),
    "AWS::ElasticLoadBalancing::LoadBalancer": ("elasticloadbalancing:CreateLoadBalancer",),
    "AWS::AutoScaling::AutoScalingGroup": ("autoscaling:CreateAutoScalingGroup",),
    "AWS::AutoScaling::LaunchConfiguration": ("autoscaling:CreateLaunchConfiguration",),
    "AWS::AutoScaling::ScheduledAction": ("autoscaling:PutScheduledUpdateGroupAction",),
    "AWS::Route53::HostedZone": ("route53:CreateHostedZone",),
    "AWS::Route53::RecordSet": ("route53:ChangeResourceRecordSets",),
    "AWS::Route53::RecordSetGroup": ("route53:ChangeResourceRecordSets",),
    "AWS::Route53::HealthCheck": ("route53:CreateHealthCheck",),
    "AWS::ServiceDiscovery::PrivateDnsNamespace": ("servicediscovery:CreatePrivateDnsNamespace",),
    "AWS::ServiceDiscovery::HttpNamespace": ("servicediscovery:CreateHttpNamespace",),
    "AWS::ServiceDiscovery::Service": ("servicediscovery:CreateService",),
    "AWS::StepFunctions::StateMachine": ("states:CreateStateMachine",),
    "AWS::CloudWatch::Dashboard": ("cloudwatch:PutDashboard",),
    "AWS::CloudWatch::Alarm": ("cloudwatch:PutMetricAlarm",),
    "AWS::EFS::FileSystem": ("elasticfilesystem:CreateFileSystem",),
    "AWS::EFS::MountTarget": ("elasticfilesystem:CreateMountTarget",),
    "AWS::EFS::AccessPoint": ("elasticfilesystem:CreateAccessPoint",),
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "application-autoscaling:RegisterScalableTarget",),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("application-autoscaling:PutScalingPolicy",),
    "AWS::CloudFormation::Stack": ("cloudformation:CreateStack",),
}

# IAM properties that grant more than the resource itself: property -> action on the resource.
_IAM_EXTRA = {
    "AWS::IAM::User": {"Policies": "iam:PutUserPolicy", "ManagedPolicyArns":
                       "iam:AttachUserPolicy", "LoginProfile": "iam:CreateLoginProfile",
                       "PermissionsBoundary": "iam:PutUserPermissionsBoundary"},
    "AWS::IAM::Role": {"Policies": "iam:PutRolePolicy", "ManagedPolicyArns":
                       "iam:AttachRolePolicy",
                       "PermissionsBoundary": "iam:PutRolePermissionsBoundary"},
    "AWS::IAM::Group": {"Policies": "iam:PutGroupPolicy",
                        "ManagedPolicyArns": "iam:AttachGroupPolicy"},
    "AWS::IAM::InstanceProfile": {"Roles": "iam:AddRoleToInstanceProfile"},
}

# IAM types: the resource their create acts on (kind of ARN, name property).
_IAM_SELF = {"AWS::IAM::User": ("user", "UserName"), "AWS::IAM::Role": ("role", "RoleName"),
             "AWS::IAM::Group": ("group", "GroupName"),
             "AWS::IAM::ManagedPolicy": ("policy", "ManagedPolicyName"),
             "AWS::IAM::InstanceProfile": ("instance-profile", "InstanceProfileName"),
             "AWS::IAM::AccessKey": ("user", "UserName"),
             "AWS::IAM::UserToGroupAddition": ("group", "GroupName")}

# IAM properties naming other IAM resources the resource acts on: property -> (kind, action),
# as AWS authorizes the action on the named one (AddUserToGroup on the group, PutUserPolicy on
# the user...).
_IAM_OTHERS = {
    "AWS::IAM::User": {"Groups": ("group", "iam:AddUserToGroup")},
    "AWS::IAM::Policy": {"Users": ("user", "iam:PutUserPolicy"),
                         "Roles": ("role", "iam:PutRolePolicy"),
                         "Groups": ("group", "iam:PutGroupPolicy")},
    "AWS::IAM::ManagedPolicy": {"Users": ("user", "iam:AttachUserPolicy"),
                                "Roles": ("role", "iam:AttachRolePolicy"),
                                "Groups": ("group", "iam:AttachGroupPolicy")},
}

# A property that hands a role to a service (Lambda's Role, a state machine's RoleArn, an
# event target's RoleArn, a flow log's DeliverLogsPermissionArn, ...): iam:PassRole on it.
_ROLE_KEY = re.compile(r"(?i)(role(arn)?|iamfleetrole|deliverlogspermissionarn)$")


def unknown(resource_type: str) -> str:
    return (f"The resource type {resource_type} has no IAM actions known to this emulator, so "
            "its caller's rights cannot be checked: refused while ECS_EMULATOR_ENFORCE_IAM is "
            "set (make it without the stack, or without enforcement).")


def checks(resource_type: str, properties, ctx, existing=None) -> list[tuple[str, str]] | None:
    """[(action, resource)] making this resource needs of the stack's caller; None for a type
    this module does not know (to be refused). `existing(kind, name)`: the ARN of the IAM user,
    role or group of that name the account has, else None (its path is in its ARN)."""
    if resource_type in NOTHING:
        return []
    if resource_type not in CREATE:
        return None
    properties = properties if isinstance(properties, dict) else {}
    if resource_type.startswith("AWS::IAM::"):
        return _iam_checks(resource_type, properties, ctx, existing or (lambda kind, name: None))
    needed = [(action, "*") for action in CREATE[resource_type]]
    return needed + [("iam:PassRole", role) for role in sorted(set(_passed_roles(properties)))]


def _iam_checks(resource_type: str, properties: dict, ctx, existing) -> list[tuple[str, str]]:
    """On the ARNs of the users, roles and groups the resource makes or acts on, so that a Deny
    on one (iam:CreateAccessKey on user/admin) holds in a stack as in a call."""
    def arn(kind: str, name, path=None) -> str:
        if not isinstance(name, str) or not name:
            return "*"  # a name the stack makes up: a new resource, not one a Deny names
        if name.startswith("arn:"):
            return name
        found = existing(kind, name) if kind in ("user", "role", "group") else None
        if found:
            return found
        path = path if isinstance(path, str) and path.startswith("/") else "/"
        return f"arn:{ctx.partition}:iam::{ctx.account}:{kind}{path}{name}"

    kind, key = _IAM_SELF.get(resource_type, (None, None))
    own = arn(kind, properties.get(key), properties.get("Path")) if kind else "*"
    needed = [(action, own) for action in CREATE[resource_type]]
    needed += [(action, own) for name, action in _IAM_EXTRA.get(resource_type, {}).items()
               if properties.get(name)]
    for name, (kind, action) in _IAM_OTHERS.get(resource_type, {}).items():
        targets = properties.get(name)
        for target in targets if isinstance(targets, list) else [targets] if targets else []:
            needed.append((action, arn(kind, target)))
    if resource_type == "AWS::IAM::Policy" and not needed:
        needed.append(("iam:PutUserPolicy", "*"))  # attached to nothing: AWS refuses it anyway
    if resource_type == "AWS::IAM::InstanceProfile":
        roles = properties.get("Roles")
        for role in roles if isinstance(roles, list) else []:
            needed.append(("iam:PassRole", arn("role", role)))
    return needed


# IAM types moto deletes: the actions their delete needs, on the resource's own ARN.
_DELETE = {"AWS::IAM::User": "iam:DeleteUser", "AWS::IAM::Role": "iam:DeleteRole",
           "AWS::IAM::Group": "iam:DeleteGroup", "AWS::IAM::ManagedPolicy": "iam:DeletePolicy",
           "AWS::IAM::InstanceProfile": "iam:DeleteInstanceProfile"}
# An inline policy's delete, on each user, role and group it is in.
_DELETE_INLINE = {"user_names": ("user", "iam:DeleteUserPolicy"),
                  "role_names": ("role", "iam:DeleteRolePolicy"),
                  "group_names": ("group", "iam:DeleteGroupPolicy")}


def delete_checks(resource_type: str, resource, ctx, existing=None) -> list[tuple[str, str]]:
    """[(action, resource)] deleting moto's `resource` needs of the stack's caller: IAM types
    only (deleting the others is not checked, as the README says)."""
    existing = existing or (lambda kind, name: None)

    def arn(kind: str, name) -> str:
        return (existing(kind, name) or f"arn:{ctx.partition}:iam::{ctx.account}:{kind}/{name}"
                if isinstance(name, str) and name else "*")

    if resource_type in _DELETE:
        return [(_DELETE[resource_type], getattr(resource, "arn", None) or "*")]
    if resource_type == "AWS::IAM::AccessKey":
        return [("iam:DeleteAccessKey", arn("user", getattr(resource, "user_name", None)))]
    if resource_type == "AWS::IAM::Policy":
        return [(action, arn(kind, name)) for attribute, (kind, action) in _DELETE_INLINE.items()
                for name in getattr(resource, attribute, None) or []]
    return []


def _passed_roles(value, key: str = ""):
    """The role ARNs in properties whose name says they hand a role to a service."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _passed_roles(inner, str(name))
    elif isinstance(value, list):
        for inner in value:
            yield from _passed_roles(inner, key)
    elif isinstance(value, str) and _ROLE_KEY.search(key) and ":role/" in value:
        yield value

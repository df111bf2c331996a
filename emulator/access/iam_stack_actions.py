"""The tables of IAM actions a CloudFormation stack's caller needs for each resource type: to
make it (CREATE), to delete it (DELETE), and the ARN the actions are asked on (ARNS).

The actions are the CloudFormation resource schemas' `handlers.create.permissions` and
`handlers.delete.permissions`, reduced to the ones that grant or destroy something (the Describe
and List calls a handler makes to wait are left out). iam_stacks.py applies them; under
enforcement a type missing from CREATE (or DELETE) is refused, to make (or delete), unless it
makes nothing (NOTHING).

The emulator's own ECS and ECR types are in DELETE too: their create and update call the ECS and
ECR APIs, checked as the caller's own calls (iam_resources.py), but an update's removals are
checked before the update changes anything, which needs their delete actions up front.
"""

from __future__ import annotations

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
    "AWS::ServiceDiscovery::PublicDnsNamespace": ("servicediscovery:CreatePublicDnsNamespace",),
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


# type -> the actions its delete needs, on the resource's ARN (see arn_of). IAM's inline policies
# and access keys are on the users, roles and groups they belong to (iam_stacks.delete_checks).
DELETE = {
    "AWS::IAM::User": ("iam:DeleteUser",),
    "AWS::IAM::Role": ("iam:DeleteRole",),
    "AWS::IAM::Group": ("iam:DeleteGroup",),
    "AWS::IAM::ManagedPolicy": ("iam:DeletePolicy",),
    "AWS::IAM::InstanceProfile": ("iam:DeleteInstanceProfile",),
    "AWS::IAM::AccessKey": ("iam:DeleteAccessKey",),
    "AWS::IAM::Policy": (),  # per user, role and group it is in
    "AWS::IAM::UserToGroupAddition": ("iam:RemoveUserFromGroup",),
    "AWS::EC2::VPC": ("ec2:DeleteVpc",),
    "AWS::EC2::Subnet": ("ec2:DeleteSubnet",),
    "AWS::EC2::SecurityGroup": ("ec2:DeleteSecurityGroup",),
    "AWS::EC2::SecurityGroupIngress": ("ec2:RevokeSecurityGroupIngress",),
    "AWS::EC2::SecurityGroupEgress": ("ec2:RevokeSecurityGroupEgress",),
    "AWS::EC2::InternetGateway": ("ec2:DeleteInternetGateway",),
    "AWS::EC2::VPCGatewayAttachment": ("ec2:DetachInternetGateway",),
    "AWS::EC2::RouteTable": ("ec2:DeleteRouteTable",),
    "AWS::EC2::Route": ("ec2:DeleteRoute",),
    "AWS::EC2::SubnetRouteTableAssociation": ("ec2:DisassociateRouteTable",),
    "AWS::EC2::EIP": ("ec2:ReleaseAddress",),
    "AWS::EC2::NatGateway": ("ec2:DeleteNatGateway",),
    "AWS::EC2::NetworkInterface": ("ec2:DeleteNetworkInterface",),
    "AWS::EC2::Instance": ("ec2:TerminateInstances",),
    "AWS::EC2::LaunchTemplate": ("ec2:DeleteLaunchTemplate",),
    "AWS::EC2::Volume": ("ec2:DeleteVolume",),
    "AWS::EC2::VolumeAttachment": ("ec2:DetachVolume",),
    "AWS::EC2::VPCEndpoint": ("ec2:DeleteVpcEndpoints",),
    "AWS::EC2::VPCPeeringConnection": ("ec2:DeleteVpcPeeringConnection",),
    "AWS::EC2::VPNGateway": ("ec2:DeleteVpnGateway",),
    "AWS::EC2::TransitGateway": ("ec2:DeleteTransitGateway",),
    "AWS::EC2::FlowLog": ("ec2:DeleteFlowLogs",),
    "AWS::EC2::SpotFleet": ("ec2:CancelSpotFleetRequests",),
    "AWS::Logs::LogGroup": ("logs:DeleteLogGroup",),
    "AWS::Logs::ResourcePolicy": ("logs:DeleteResourcePolicy",),
    "AWS::S3::Bucket": ("s3:DeleteBucket",),
    "AWS::SSM::Parameter": ("ssm:DeleteParameter",),
    "AWS::SSM::Document": ("ssm:DeleteDocument",),
    "AWS::SecretsManager::Secret": ("secretsmanager:DeleteSecret",),
    "AWS::KMS::Key": ("kms:ScheduleKeyDeletion",),
    "AWS::KMS::Alias": ("kms:DeleteAlias",),
    "AWS::Lambda::Function": ("lambda:DeleteFunction",),
    "AWS::Lambda::Permission": ("lambda:RemovePermission",),
    "AWS::Lambda::Version": ("lambda:DeleteFunction",),
    "AWS::Lambda::LayerVersion": ("lambda:DeleteLayerVersion",),
    "AWS::Lambda::EventSourceMapping": ("lambda:DeleteEventSourceMapping",),
    "AWS::SNS::Topic": ("sns:DeleteTopic",),
    "AWS::SQS::Queue": ("sqs:DeleteQueue",),
    "AWS::DynamoDB::Table": ("dynamodb:DeleteTable",),
    "AWS::Kinesis::Stream": ("kinesis:DeleteStream",),
    "AWS::Events::Rule": ("events:DeleteRule",),
    "AWS::Events::EventBus": ("events:DeleteEventBus",),
    "AWS::Events::Archive": ("events:DeleteArchive",),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("elasticloadbalancing:DeleteLoadBalancer",),
    "AWS::ElasticLoadBalancingV2::TargetGroup": ("elasticloadbalancing:DeleteTargetGroup",),
    "AWS::ElasticLoadBalancingV2::Listener": ("elasticloadbalancing:DeleteListener",),
    "AWS::ElasticLoadBalancingV2::ListenerRule": ("elasticloadbalancing:DeleteRule",),
    "AWS::ElasticLoadBalancing::LoadBalancer": ("elasticloadbalancing:DeleteLoadBalancer",),
    "AWS::AutoScaling::AutoScalingGroup": ("autoscaling:DeleteAutoScalingGroup",),
    "AWS::AutoScaling::LaunchConfiguration": ("autoscaling:DeleteLaunchConfiguration",),
    "AWS::AutoScaling::ScheduledAction": ("autoscaling:DeleteScheduledAction",),
    "AWS::Route53::HostedZone": ("route53:DeleteHostedZone",),
    "AWS::Route53::RecordSet": ("route53:ChangeResourceRecordSets",),
    "AWS::Route53::RecordSetGroup": ("route53:ChangeResourceRecordSets",),
    "AWS::Route53::HealthCheck": ("route53:DeleteHealthCheck",),
    "AWS::ServiceDiscovery::PrivateDnsNamespace": ("servicediscovery:DeleteNamespace",),
    "AWS::ServiceDiscovery::HttpNamespace": ("servicediscovery:DeleteNamespace",),
    "AWS::ServiceDiscovery::PublicDnsNamespace": ("servicediscovery:DeleteNamespace",),
    "AWS::ServiceDiscovery::Service": ("servicediscovery:DeleteService",),
    "AWS::StepFunctions::StateMachine": ("states:DeleteStateMachine",),
    "AWS::CloudWatch::Dashboard": ("cloudwatch:DeleteDashboards",),
    "AWS::CloudWatch::Alarm": ("cloudwatch:DeleteAlarms",),
    "AWS::EFS::FileSystem": ("elasticfilesystem:DeleteFileSystem",),
    "AWS::EFS::MountTarget": ("elasticfilesystem:DeleteMountTarget",),
    "AWS::EFS::AccessPoint": ("elasticfilesystem:DeleteAccessPoint",),
    "AWS::ApplicationAutoScaling::ScalableTarget": (
        "application-autoscaling:DeregisterScalableTarget",),
    "AWS::ApplicationAutoScaling::ScalingPolicy": ("application-autoscaling:DeleteScalingPolicy",),
    "AWS::CloudFormation::Stack": ("cloudformation:DeleteStack",),
    # The emulator's own: the calls their `remove` makes (a service is deleted with force, which
    # scales it to zero: no UpdateService).
    "AWS::ECS::Cluster": ("ecs:DeleteCluster",),
    "AWS::ECS::CapacityProvider": ("ecs:DeleteCapacityProvider",),
    "AWS::ECS::ClusterCapacityProviderAssociations": ("ecs:PutClusterCapacityProviders",),
    "AWS::ECS::TaskDefinition": ("ecs:DeregisterTaskDefinition",),
    "AWS::ECS::Service": ("ecs:DeleteService",),
    "AWS::ECS::TaskSet": ("ecs:DeleteTaskSet",),
    "AWS::ECS::PrimaryTaskSet": (),
    "AWS::ECR::Repository": ("ecr:DeleteRepository",),
    "AWS::ECR::RegistryPolicy": ("ecr:DeleteRegistryPolicy",),
    "AWS::ECR::ReplicationConfiguration": ("ecr:PutReplicationConfiguration",),
    "AWS::ECR::PullThroughCacheRule": ("ecr:DeletePullThroughCacheRule",),
    "AWS::ECR::RepositoryCreationTemplate": ("ecr:DeleteRepositoryCreationTemplate",),
    "AWS::ECS::ExpressGatewayService": ("ecs:DeleteExpressGatewayService",),
    "AWS::ECR::RegistryScanningConfiguration": ("ecr:PutRegistryScanningConfiguration",),
    "AWS::ECR::SigningConfiguration": ("ecr:DeleteSigningConfiguration",),
    "AWS::ECR::PullTimeUpdateExclusion": ("ecr:DeregisterPullTimeUpdateExclusion",),
    # Types that fail their create (cloudformation/not_emulated.py): nothing was made.
    "AWS::ECS::Daemon": (),
    "AWS::ECS::DaemonTaskDefinition": (),
    "AWS::ECS::Gateway": (),
    "AWS::ECS::GatewayClusterAssociations": (),
    "AWS::ECR::PublicRepository": (),
}

# type -> the ARN of a resource of that name (its name property's value, the name the stack
# makes up, or its physical ID), as the service's authorization reference has it; types not
# here are asked on `*` where moto's resource has no ARN of its own (EC2's, whose IDs come with
# the resource, and the like). A log group's is DescribeLogGroups' ARN, the form policies use.
ARNS = {
    "AWS::Logs::LogGroup": "arn:{partition}:logs:{region}:{account}:log-group:{name}:*",
    "AWS::S3::Bucket": "arn:{partition}:s3:::{name}",
    "AWS::SQS::Queue": "arn:{partition}:sqs:{region}:{account}:{name}",
    "AWS::SNS::Topic": "arn:{partition}:sns:{region}:{account}:{name}",
    "AWS::DynamoDB::Table": "arn:{partition}:dynamodb:{region}:{account}:table/{name}",
    "AWS::Kinesis::Stream": "arn:{partition}:kinesis:{region}:{account}:stream/{name}",
    "AWS::Lambda::Function": "arn:{partition}:lambda:{region}:{account}:function:{name}",
    "AWS::SSM::Parameter": "arn:{partition}:ssm:{region}:{account}:parameter/{name}",
    "AWS::StepFunctions::StateMachine":
        "arn:{partition}:states:{region}:{account}:stateMachine:{name}",
    "AWS::Events::Rule": "arn:{partition}:events:{region}:{account}:rule/{name}",
    "AWS::Events::EventBus": "arn:{partition}:events:{region}:{account}:event-bus/{name}",
    "AWS::ECS::Cluster": "arn:{partition}:ecs:{region}:{account}:cluster/{name}",
    "AWS::ECS::CapacityProvider":
        "arn:{partition}:ecs:{region}:{account}:capacity-provider/{name}",
    "AWS::ECS::ClusterCapacityProviderAssociations":
        "arn:{partition}:ecs:{region}:{account}:cluster/{name}",
    "AWS::ECR::Repository": "arn:{partition}:ecr:{region}:{account}:repository/{name}",
}


def arn_of(resource_type: str, name, ctx) -> str:
    """The ARN of the resource of this type and name (a name that is an ARN already is kept; a
    queue's URL gives its name); `*` for a type with no ARN here, or no name."""
    if not isinstance(name, str) or not name:
        return "*"
    if name.startswith("arn:"):
        return name
    form = ARNS.get(resource_type)
    if form is None:
        return "*"
    if name.startswith(("https://", "http://")):
        name = name.rstrip("/").rsplit("/", 1)[-1]  # a queue's URL
    if resource_type == "AWS::SSM::Parameter":
        name = name.lstrip("/")  # /app/key is parameter/app/key
    return form.format(partition=ctx.partition, region=ctx.region, account=ctx.account,
                       name=name)

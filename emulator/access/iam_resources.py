"""Which IAM actions on which resources an ECS or ECR call needs, as the services' authorization
references list them ("Actions, resources, and condition keys for Amazon ECS / ECR").

Every call needs `<service>:<Operation>`. Its resource is the ARN of what the call names, where
AWS authorizes on one (a cluster, a service, a task definition, a repository), else `*`. A call
that hands IAM roles to ECS also needs `iam:PassRole` on each (RegisterTaskDefinition's task and
execution roles, and a daemon task definition's; RunTask's and StartTask's role overrides and
those of the definition they run; the roles of Express services and gateways).
Calls about many resources at once (DescribeTasks and the like) are checked on `*`: a
simplification, noted in the README.
"""

from __future__ import annotations

from emulator.aws.errors import AwsError

# A service's IAM prefix where its endpoint prefix differs (botocore's signingName).
_IAM_PREFIX = {"api.ecr": "ecr"}

# Operations whose resource is the cluster named in `cluster` (default: "default").
_ON_CLUSTER = {
    "DeleteCluster", "UpdateCluster", "UpdateClusterSettings",
    "PutClusterCapacityProviders", "ListTasks", "ListServices", "ListContainerInstances",
    "DeregisterContainerInstance", "RegisterContainerInstance", "UpdateContainerInstancesState",
    "DescribeContainerInstances", "StopTask", "DescribeTasks",
}
_ON_SERVICE = {"CreateService", "UpdateService", "DeleteService", "CreateTaskSet",
               "UpdateTaskSet", "DeleteTaskSet", "DescribeTaskSets",
               "UpdateServicePrimaryTaskSet"}
_ON_TASK_DEFINITION = {"RunTask", "StartTask", "DescribeTaskDefinition",
                       "DeregisterTaskDefinition"}


def checks(service: str, operation: str, params: dict, ctx, store_of=None) -> list[tuple[str, str]]:
    """[(action, resource ARN)] the call needs; `store_of()` gives the caller's ECS store (for
    the task definition a family name means), or None. `service`: the service's name (its
    endpoint prefix: ECR's is api.ecr)."""
    service = _IAM_PREFIX.get(service, service)
    if service == "ecr":
        return [(f"ecr:{operation}", _repository(params, ctx))]
    if service != "ecs":
        return [(f"{service}:{operation}", "*")]
    base = f"arn:{ctx.partition}:ecs:{ctx.region}:{ctx.account}"
    needed = [(f"ecs:{operation}", _ecs_resource(operation, params, base, store_of))]
    for role in _passed_roles(operation, params, store_of):
        needed.append(("iam:PassRole", _role_arn(role, ctx)))
    return needed


def _ecs_resource(operation: str, params: dict, base: str, store_of) -> str:
    cluster = _name(params.get("cluster") or "default")
    if operation in _ON_CLUSTER:
        return f"{base}:cluster/{cluster}"
    if operation in _ON_SERVICE:
        service = params.get("serviceName") or params.get("service")
        return f"{base}:service/{cluster}/{_name(service)}" if isinstance(service, str) else "*"
    if operation in _ON_TASK_DEFINITION:
        return _task_definition_arn(params.get("taskDefinition"), base, store_of)
    if operation == "CreateCluster":
        return f"{base}:cluster/{params.get('clusterName') or 'default'}"
    return "*"


def _task_definition_arn(ref, base: str, store_of) -> str:
    if not isinstance(ref, str):
        return "*"
    # What the handler will run, named as it is stored: an ARN sent without its revision (or
    # in another spelling the handler accepts) is checked as the revision that runs
    definition = _definition(ref, store_of)
    if definition is not None:
        return definition.arn
    if ref.startswith("arn:"):
        return ref
    return f"{base}:task-definition/{ref}" if ":" in ref else f"{base}:task-definition/{ref}:*"


def _definition(ref, store_of):
    if store_of is None or not isinstance(ref, str):
        return None
    from emulator.ecs import task_definitions

    try:
        return task_definitions.resolve(store_of(), ref)
    except AwsError:  # another region's ARN: IAM decides on it as given; the handler refuses it
        return None


def _passed_roles(operation: str, params: dict, store_of) -> list[str]:
    roles = []
    if operation in ("RegisterTaskDefinition", "RegisterDaemonTaskDefinition"):
        roles = [params.get("taskRoleArn"), params.get("executionRoleArn")]
    elif operation in ("CreateExpressGatewayService", "UpdateExpressGatewayService"):
        roles = [params.get("taskRoleArn"), params.get("executionRoleArn"),
                 params.get("infrastructureRoleArn")]
    elif operation in ("CreateGateway", "UpdateGateway"):
        roles = [params.get("infrastructureRoleArn")]
    elif operation in ("RunTask", "StartTask"):
        overrides = params.get("overrides") if isinstance(params.get("overrides"), dict) else {}
        definition = _definition(params.get("taskDefinition"), store_of)
        spec = definition.spec if definition is not None else {}
        roles = [overrides.get("taskRoleArn") or spec.get("taskRoleArn"),
                 overrides.get("executionRoleArn") or spec.get("executionRoleArn")]
    return [r for r in roles if isinstance(r, str) and r]


def _role_arn(role: str, ctx) -> str:
    if role.startswith("arn:"):
        return role
    return f"arn:{ctx.partition}:iam::{ctx.account}:role/{role}"


def _repository(params: dict, ctx) -> str:
    name = params.get("repositoryName")
    if not isinstance(name, str):
        return "*"
    account = params.get("registryId") if isinstance(params.get("registryId"), str) else ctx.account
    return f"arn:{ctx.partition}:ecr:{ctx.region}:{account}:repository/{name}"


def _name(value) -> str:
    """A cluster or service given by name or ARN, as its name."""
    return value.rsplit("/", 1)[-1] if isinstance(value, str) else ""

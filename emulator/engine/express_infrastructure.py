"""The AWS resources an Express Mode service owns, made in moto as ECS makes them on AWS: an
internet-facing Application Load Balancer (in the given subnets, else the default VPC's), an
`ip` target group on the container port with the service's health check path, and an HTTP:80
listener forwarding to it; and its scaling settings in Application Auto Scaling: a scalable
target (min and max task counts) and a target-tracking policy on the chosen metric. The service's
tasks join the target group through the load balancer task hook (emulator/engine/
load_balancing.py), as any service's do.

ECS's Express code (emulator/ecs/express_services.py) reaches this through the store
(`EcsStore.express`), wired by create_app; nothing here knows ECS's model.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from emulator.ecs.errors import InvalidParameterException


DIMENSION = "ecs:service:DesiredCount"
POLICY = "express-target-tracking"
METRICS = {"AVERAGE_CPU": "ECSServiceAverageCPUUtilization",
           "AVERAGE_MEMORY": "ECSServiceAverageMemoryUtilization",
           "REQUEST_COUNT_PER_TARGET": "ALBRequestCountPerTarget"}


@dataclass
class Resources:
    """What an Express service was given in moto: load balancer, target group and the rest."""
    load_balancer_arn: str
    dns_name: str
    target_group_arn: str
    listener_arn: str
    subnets: list[str]  # where the load balancer is (the tasks go there too)
    security_groups: list[str]


class ExpressInfrastructure:
    def __init__(self, moto):
        self._moto = moto

    def create(self, account: str, region: str, name: str, key: str, port: int,
               health_path: str, subnets: list[str], security_groups: list[str]) -> Resources:
        """`name` shows in the resources' names; `key` (cluster/service) keeps them apart."""
        ec2 = self._moto.backend("ec2", account, region)
        elbv2 = self._moto.backend("elbv2", account, region)
        subnets, security_groups = self._network(ec2, subnets, security_groups)
        short = _short_name(name, key)
        try:
            balancer = elbv2.create_load_balancer(
                name=short, security_groups=security_groups, subnet_ids=subnets,
                scheme="internet-facing", loadbalancer_type="application")
            group = elbv2.create_target_group(
                short, protocol="HTTP", port=port, vpc_id=balancer.vpc_id, target_type="ip",
                healthcheck_path=health_path)
            listener = elbv2.create_listener(balancer.arn, "HTTP", "80", None, None,
                                             [{"Type": "forward", "TargetGroupArn": group.arn}])
        except Exception as error:  # moto's validation of the network, as ELB's would answer
            raise InvalidParameterException(
                f"The load balancer of the Express service could not be created: "
                f"{getattr(error, 'message', None) or error}") from None
        return Resources(balancer.arn, balancer.dns_name, group.arn, listener.arn, subnets,
                         security_groups)

    def set_health_check_path(self, account: str, region: str, target_group_arn: str,
                              path: str) -> None:
        group = self._moto.backend("elbv2", account, region).target_groups.get(target_group_arn)
        if group is not None:
            group.health_check_path = path

    def set_scaling(self, account: str, region: str, cluster: str, service: str,
                    scaling: dict, role_arn: str, resources: Resources) -> None:
        """The scalable target and its target-tracking policy, made or changed."""
        from moto.applicationautoscaling.models import FakeScalableTarget

        backend = self._moto.backend("application-autoscaling", account, region)
        resource_id = f"service/{cluster}/{service}"
        target = backend.targets.get(DIMENSION, {}).get(resource_id)
        if target is None:
            # Made directly: moto's RegisterScalableTarget looks for the service in moto's own
            # ECS, which does not hold ours.
            backend._add_scalable_target(FakeScalableTarget(
                backend, "ecs", resource_id, DIMENSION, scaling["minTaskCount"],
                scaling["maxTaskCount"], role_arn, None))
        else:
            target.update(scaling["minTaskCount"], scaling["maxTaskCount"], None)
        metric = {"PredefinedMetricType": METRICS[scaling["autoScalingMetric"]]}
        if scaling["autoScalingMetric"] == "REQUEST_COUNT_PER_TARGET":
            metric["ResourceLabel"] = (resources.load_balancer_arn.split(":loadbalancer/")[1]
                                       + "/" + resources.target_group_arn.split(":")[-1])
        backend.put_scaling_policy(POLICY, "ecs", resource_id, DIMENSION, {
            "TargetValue": float(scaling["autoScalingTargetValue"]),
            "PredefinedMetricSpecification": metric}, "TargetTrackingScaling")

    def delete(self, account: str, region: str, resources: Resources,
               cluster: str | None = None, service: str | None = None) -> None:
        if cluster is not None:
            backend = self._moto.backend("application-autoscaling", account, region)
            resource_id = f"service/{cluster}/{service}"
            for step in (lambda: backend.delete_scaling_policy(POLICY, "ecs", resource_id,
                                                               DIMENSION),
                         lambda: backend.deregister_scalable_target("ecs", resource_id,
                                                                    DIMENSION)):
                try:
                    step()
                except Exception:  # already gone
                    pass
        elbv2 = self._moto.backend("elbv2", account, region)
        for step in (lambda: elbv2.delete_listener(resources.listener_arn),
                     lambda: elbv2.delete_target_group(resources.target_group_arn),
                     lambda: elbv2.delete_load_balancer(resources.load_balancer_arn)):
            try:
                step()
            except Exception:  # already gone (a user deleted it): nothing left to remove
                pass

    @staticmethod
    def _network(ec2, subnets: list[str], security_groups: list[str]):
        if not subnets:
            default = next((v for v in ec2.vpcs.values() if v.is_default), None)
            if default is None:
                raise InvalidParameterException(
                    "The account has no default VPC; give networkConfiguration.subnets.")
            found = ec2.describe_subnets(filters={"vpc-id": [default.id],
                                                  "default-for-az": ["true"]})
            subnets = [s.id for s in found][:2]
        if not security_groups:
            vpc_id = ec2.get_subnet(subnets[0]).vpc_id
            groups = ec2.describe_security_groups(filters={"vpc-id": [vpc_id],
                                                          "group-name": ["default"]})
            security_groups = [g.id for g in groups]
        return subnets, security_groups


def _short_name(name: str, key: str) -> str:
    """ELB names are at most 32 characters of letters, digits and hyphens."""
    cleaned = "".join(c if c.isalnum() else "-" for c in name).strip("-") or "express"
    digest = hashlib.sha1(key.encode()).hexdigest()[:6]
    return f"{cleaned[:25].strip('-')}-{digest}"

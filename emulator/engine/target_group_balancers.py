"""moto's ELBv2 target groups name the load balancers that use them now, as ELB's do.

A target group's LoadBalancerArns (DescribeTargetGroups, and its LoadBalancerArn filter) are
the load balancers with a listener whose default actions or rules forward to the group, one
group or several by a forward config. moto appends a load balancer when CreateListener or
CreateRule forwards to the group (once per listener) and never takes one away: after
DeleteListener, DeleteRule or DeleteLoadBalancer, or a ModifyListener or ModifyRule that
points elsewhere, the group still names it (and a ModifyListener that points at the group adds
none). ECS's CreateService check ("does not have an associated load balancer") reads the same.

So the extension makes `load_balancer_arns` a property of moto's target group that asks the
group's backend which load balancers forward to it, whichever path changed them (API calls,
CloudFormation); what moto writes there is not read. Removed, it leaves each group the list it
answered last, and moto's own bookkeeping from there. target_group_ports.py installs and removes
it with its own methods (one counted hold on moto's ELBv2 classes).
"""

from __future__ import annotations

ATTRIBUTE = "load_balancer_arns"


def forwarding_to(backend, arn: str) -> list[str]:
    """The load balancers whose listeners forward to the target group `arn`, each once, by any
    listener's default actions or rule. Copies of moto's dicts are walked: another request's
    thread may change them meanwhile."""
    found = []
    for balancer in list(backend.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            actions = [a for rule in list(listener.rules.values()) for a in rule.actions]
            if any(arn in backend._get_target_group_arns_from(action_data=a.data)
                   for a in [*listener.default_actions, *actions] if a.type == "forward"):
                found.append(balancer.arn)
                break
    return found


def install(models) -> None:
    """Make moto's target groups (module `models`: moto.elbv2.models) answer the load
    balancers that use them now."""
    def current(group) -> list[str]:
        return forwarding_to(models.elbv2_backends[group.account_id][group.region_name],
                             group.arn)

    def kept_unread(group, value) -> None:
        # moto's __init__ sets the list (its appends go to the property's copy): kept in the
        # group's own attributes, so a snapshot of the group still holds one for a build
        # without this extension to read
        group.__dict__[ATTRIBUTE] = value

    setattr(models.FakeTargetGroup, ATTRIBUTE, property(current, kept_unread))


def uninstall(models) -> None:
    """moto's own attribute again, each group's holding what the property answered last."""
    answered = {}
    for regions in list(models.elbv2_backends.values()):
        for backend in list(regions.values()):
            for group in list(backend.target_groups.values()):
                answered[id(group)] = (group, group.load_balancer_arns)
    delattr(models.FakeTargetGroup, ATTRIBUTE)
    for group, arns in answered.values():
        group.__dict__[ATTRIBUTE] = arns

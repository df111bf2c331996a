"""ECS's API: one small handler per operation, marked `@handler("RunTask")` in the modules below.

`handlers()` collects them into a new table; the app factory calls it, so each app has its own
table and importing a module fills none.
"""

from emulator.aws.json_service import HandlerTable
from emulator.ecs.api import (
    account_settings,
    agent,
    attributes,
    capacity_providers,
    clusters,
    container_instances,
    daemons,
    express,
    gateways,
    service_deployments,
    services,
    tags,
    task_definitions,
    task_sets,
    tasks,
)

MODULES = (account_settings, agent, attributes, capacity_providers, clusters,
           container_instances, daemons, express, gateways, service_deployments, services, tags,
           task_definitions, task_sets, tasks)


def handlers() -> HandlerTable:
    return HandlerTable.collect(MODULES)

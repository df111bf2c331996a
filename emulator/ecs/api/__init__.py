"""ECS's API: one small handler per operation, registered in `handlers`.

Each module below registers the handlers of one resource; importing them fills the table.
"""

from emulator.aws.json_service import HandlerTable

handlers = HandlerTable()

from emulator.ecs.api import (  # noqa: E402,F401  (importing registers the handlers)
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

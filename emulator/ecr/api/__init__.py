"""ECR's API: one small handler per operation, registered in `handlers`.

Each module below registers the handlers of one resource; importing them fills the table.
"""

from emulator.aws.json_service import HandlerTable

handlers = HandlerTable()

from emulator.ecr.api import (  # noqa: E402,F401  (importing registers the handlers)
    archive,
    images,
    layers,
    lifecycle,
    pull_through,
    registry,
    repositories,
    scanning,
    tags,
    templates,
)

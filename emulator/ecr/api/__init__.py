"""ECR's API: one small handler per operation, marked `@handler("PutImage")` in the modules below.

`handlers()` collects them into a new table; the app factory calls it, so each app has its own
table and importing a module fills none.
"""

from emulator.aws.json_service import HandlerTable
from emulator.ecr.api import (
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

MODULES = (archive, images, layers, lifecycle, pull_through, registry, repositories, scanning,
           tags, templates)


def handlers() -> HandlerTable:
    return HandlerTable.collect(MODULES)

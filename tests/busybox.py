"""What the tests ask of the busybox test image (conftest.BUSYBOX), said once."""

# A server that idles until told to stop and leaves at once on SIGTERM (busybox as PID 1 would
# otherwise ignore it and make every stop wait out the stop timeout).
SERVE = ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]


def register(ecs, image, command=SERVE, family="web", **container) -> str:
    """A task definition of one container, "main", running `command`; its ARN."""
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "main", "image": image, "memory": 64, "command": command,
                               **container}],
    )["taskDefinition"]["taskDefinitionArn"]

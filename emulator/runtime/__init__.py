"""The Docker side: how tasks become containers. Never imports ecs/, ecr/ or Flask."""

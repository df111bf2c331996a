"""A local emulator of Amazon ECS, ECR and Fargate whose tasks run as real Docker containers."""

__version__ = "0.1.0"

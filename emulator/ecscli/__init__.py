"""The ECS CLI's commands, offline: configure, up, down, compose [service] ..., with its flags and
its words, against the emulator. The compose conversion itself is in emulator/compose/.

- config.py, configure.py: ~/.ecs/config and ~/.ecs/credentials
- cluster.py, stack.py: up and down (the cluster and its CloudFormation stack)
- compose_project.py: loading a project, registering its task definition, log groups
- compose_service.py, compose_tasks.py, waiting.py: the project as a service or as tasks
- parsers.py: the command-line flags
"""

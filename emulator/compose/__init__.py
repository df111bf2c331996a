"""docker-compose.yml and ecs-params.yml -> ECS task definitions and run parameters, as the ECS CLI
converts them. No AWS calls here: emulator/ecscli/ sends what this package builds.

- files.py: reading compose files (versions 1-3), interpolation, merging several -f files
- containers.py, ports.py, volumes.py, units.py: one compose service -> a container definition
- ecs_params.py: the ecs-params.yml schema
- task_definition.py: the whole RegisterTaskDefinition request
"""

from emulator.compose.ecs_params import network_configuration, placement, read_ecs_params
from emulator.compose.files import ComposeError, ComposeProject, compose_files, load_project
from emulator.compose.task_definition import Conversion, task_definition

__all__ = [
    "ComposeError", "ComposeProject", "Conversion", "compose_files", "load_project",
    "network_configuration", "placement", "read_ecs_params", "task_definition",
]

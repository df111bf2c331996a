"""Task-level cpu and memory: parsing the forms ECS accepts, and Fargate's valid pairs.

ECS takes task cpu as CPU units ("1024") or vCPUs ("1 vCPU", "0.25 vcpu") and task memory as
MiB ("2048") or GB ("2 GB", "2GB", "0.5GB"); it stores and returns both as unit strings.
"""

from __future__ import annotations

import re

from emulator.ecs.errors import ClientException

# Supported task cpu on EC2 (and the other launch types that are not Fargate).
EC2_CPU_RANGE = (128, 196608)

_NUMBER = r"(\d+(?:\.\d+)?|\.\d+)"
_UNITS = re.compile(r"^\s*(\d+)\s*$")
_VCPU = re.compile(rf"^\s*{_NUMBER}\s*vcpu\s*$", re.IGNORECASE)
_GB = re.compile(rf"^\s*{_NUMBER}\s*gb\s*$", re.IGNORECASE)


def invalid_setting(name: str) -> str:
    """ECS's refusal of a task-level cpu or memory, in the developer guide's words ("Troubleshoot
    Amazon ECS task definition invalid CPU or memory errors"); Fargate's sizes have their own
    (task_definition_compat.py)."""
    return (f"Invalid '{name}' setting for task. For more information, see the Troubleshooting "
            "section of the Amazon ECS Developer Guide.")


def parse_cpu(value: str) -> int:
    """"1024" or "1 vCPU" -> 1024 CPU units."""
    return _parse(value, _VCPU, "cpu")


def parse_memory(value: str) -> int:
    """"2048", "2 GB" or "2GB" -> 2048 MiB."""
    return _parse(value, _GB, "memory")


def _parse(value: str, scaled: re.Pattern, name: str) -> int:
    match = _UNITS.match(value)
    if match:
        amount = int(match.group(1))
    else:
        match = scaled.match(value)
        amount = round(float(match.group(1)) * 1024) if match else 0
    if amount <= 0:
        raise ClientException(invalid_setting(name))
    return amount


def _steps(start: int, stop: int, step: int) -> tuple[int, ...]:
    return tuple(range(start, stop + 1, step))


# Fargate task sizes: cpu units -> the memory values (MiB) it may be paired with.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: _steps(1024, 4096, 1024),
    1024: _steps(2048, 8192, 1024),
    2048: _steps(4096, 16384, 1024),
    4096: _steps(8192, 30720, 1024),
    8192: _steps(16384, 61440, 4096),
    16384: _steps(32768, 122880, 8192),
}

# Windows containers on Fargate come in fewer sizes.
FARGATE_WINDOWS_CPU = (1024, 2048, 4096)


def is_fargate_size(cpu: int, memory: int, windows: bool = False) -> bool:
    if windows and cpu not in FARGATE_WINDOWS_CPU:
        return False
    return memory in FARGATE_SIZES.get(cpu, ())

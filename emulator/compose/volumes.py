"""Compose volumes -> ECS task volumes and mount points, named as the ECS CLI names them.

A host path becomes a volume "volume-N" with that `host.sourcePath` (relative paths start at the
compose file's directory); a mount with no source becomes an empty "volume-N"; a named volume
must be declared under the top-level `volumes:` and keeps its name. ecs-params' docker_volumes
and efs_volumes give named volumes their configuration.
"""

from __future__ import annotations

from pathlib import Path

from emulator.compose.files import ComposeError


class VolumeNames:
    def __init__(self, declared: dict, directory: Path):
        for name, config in (declared or {}).items():
            if config and any(config.get(k) for k in ("driver", "driver_opts", "labels",
                                                      "external")):
                raise ComposeError(f"volume {name!r}: driver, driver_opts, labels and external "
                                   "are not supported in the compose file; use ecs-params "
                                   "docker_volumes")
        self.named: list[str] = list(declared or {})
        self.host_paths: dict[str, str] = {}  # source path -> volume name
        self.empty: list[str] = []
        self.directory = directory

    def _next_name(self) -> str:
        return f"volume-{len(self.host_paths) + len(self.empty)}"

    def mount_point(self, entry, service_name: str) -> dict | None:
        if isinstance(entry, dict):
            kind = entry.get("type", "volume")
            if kind not in ("volume", "bind"):
                return None  # tmpfs and npipe mounts have no ECS volume (tmpfs: use `tmpfs`)
            source, target = entry.get("source") or "", entry.get("target")
            read_only = bool(entry.get("read_only", False))
        else:
            source, target, read_only = _short_volume(str(entry))
        if not target:
            raise ComposeError(f"service {service_name!r}: a volume needs a container path")
        return {"sourceVolume": self._volume_for(source), "containerPath": target,
                "readOnly": read_only}

    def _volume_for(self, source: str) -> str:
        if not source:
            name = self._next_name()
            self.empty.append(name)
            return name
        if not source.startswith(("/", ".", "~")):
            if source not in self.named:
                raise ComposeError(f"named volume [{source}] is used but no declaration was "
                                   "found in the volumes section")
            return source
        path = str((self.directory / Path(source).expanduser()).resolve())
        if path not in self.host_paths:
            self.host_paths[path] = self._next_name()
        return self.host_paths[path]

    @staticmethod
    def volume_from(entry: str) -> dict:
        parts = str(entry).split(":")
        if parts[0] == "container":
            parts = parts[1:]
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1] not in ("ro", "rw")):
            raise ComposeError(f"expected format [container:]SERVICE|CONTAINER[:ro|rw]. could "
                               f"not parse cfgVolumeFrom: {entry}")
        return {"sourceContainer": parts[0], "readOnly": len(parts) == 2 and parts[1] == "ro"}

    def task_volumes(self, docker_volumes: list[dict], efs_volumes: list[dict]) -> list[dict]:
        volumes = [{"name": name, "host": {"sourcePath": path}}
                   for path, name in self.host_paths.items()]
        volumes += [{"name": name} for name in self.empty]
        configured = {v["name"]: v for v in docker_volumes + efs_volumes}
        volumes += [configured.pop(name, {"name": name}) for name in self.named]
        return volumes + list(configured.values())


def _short_volume(text: str) -> tuple[str, str, bool]:
    parts = text.split(":")
    mode = parts[-1] if len(parts) >= 2 and parts[-1] in ("ro", "rw", "z", "Z") else None
    if mode is not None:
        parts = parts[:-1]
    if len(parts) == 1:
        return "", parts[0], mode == "ro"
    if len(parts) == 2:
        return parts[0], parts[1], mode == "ro"
    raise ComposeError(f"expected format [HOST:]CONTAINER[:ro|rw]. could not parse volume: {text}")

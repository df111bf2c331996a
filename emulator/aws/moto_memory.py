"""moto's memory, bounded where tasks make objects by the million: log events.

moto keeps every instance of its models it ever made (`BaseModel.instances_tracked`, read only
by its `/moto-api/data.json` and by S3's reset, which closes its keys' files), so an object a
backend drops or deletes stays in memory until a reset. A task's output shipped by the awslogs
driver is one `LogEvent` a line: a task logging in a loop made millions, kept after their stream
dropped its oldest (engine/task_log_shipper.py), and with their stream and group (tracked too)
after the log group was deleted. CloudWatch Logs' models are made untracked; every other
service's are left as moto has them.
"""

from __future__ import annotations

import threading

_installed = threading.Lock()
_done = False


def install() -> None:
    """Make CloudWatch Logs' models untracked (once per process: moto's classes are global)."""
    global _done
    with _installed:
        if _done:
            return
        import moto.logs.models  # noqa: F401  (its classes enter model_data as it is imported)
        from moto.core.model_instances import model_data

        def untracked(cls, *args, **kwargs):
            return object.__new__(cls)

        for model in model_data["logs"].values():
            model.__new__ = untracked
            model.instances_tracked = []
        _done = True

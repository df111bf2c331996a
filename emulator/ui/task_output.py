"""A task's output and metadata for the dashboard, as `ecs-emulator logs` finds the output.

A container with the awslogs driver logs to CloudWatch Logs: the page reads that stream itself
through the Logs API (GetLogEvents), so here we only say which group and stream. Any other
container's output lives in Docker's json-file log, which the page cannot reach: we read it
here, from a cursor (the timestamp of the last line the page has), at most MAX_LINES at a time.
"""

from __future__ import annotations

import logging
from collections import deque

from emulator.engine.hooks import TaskSetupError
from emulator.engine.task_logs import awslogs_options
from emulator.metadata import documents

MAX_LINES = 1000

log = logging.getLogger(__name__)


def sources(task, region: str) -> list[dict]:
    """Per container: {"name", "source": "awslogs", "group", "stream", "region"} or
    {"name", "source": "docker"} (call under the state's lock)."""
    found = []
    for container in task.containers:
        try:
            options = awslogs_options(container.definition, region)
        except TaskSetupError:  # refused at launch: nothing was shipped anywhere
            options = None
        if options is None:
            found.append({"name": container.name, "source": "docker"})
            continue
        stream = options.stream_name(task.id, container.name, container.runtime_id or "")
        found.append({"name": container.name, "source": "awslogs", "group": options.group,
                      "region": options.region, "stream": stream})
    return found


def docker_lines(runtime, runtime_id: str | None, after: float | None) -> dict:
    """{"lines": [{"t": ms, "stream", "message"}], "cursor": seconds, "gone": bool}: the lines of
    a container's Docker log written after `after` (epoch seconds), the last MAX_LINES of them."""
    if not runtime_id:
        return {"lines": [], "cursor": after, "gone": False}
    lines: deque = deque(maxlen=MAX_LINES)
    cursor = after
    seen = False
    try:
        for at, stream, message in runtime.logs(runtime_id, since=after):
            seen = True
            if after is not None and at <= after:  # Docker's `since` is inclusive
                continue
            lines.append({"t": int(at * 1000), "stream": stream, "message": message})
            cursor = at
    except Exception as error:  # removed while we read: Docker answers 404, or 409 mid-removal
        log.debug("reading the log of %s: %s", runtime_id, error)
        return {"lines": list(lines), "cursor": cursor, "gone": _gone(runtime, runtime_id)}
    gone = not seen and _gone(runtime, runtime_id)
    return {"lines": list(lines), "cursor": cursor, "gone": gone}


def _gone(runtime, runtime_id: str) -> bool:
    try:
        return runtime.inspect_container(runtime_id) is None
    except Exception:  # Docker unreachable: say gone rather than fail the page
        return True


def metadata(task, runtime, lock) -> dict:
    """The task metadata v4 document (with tags) its containers would read."""
    with lock:
        ids = {c.name: c.runtime_id for c in task.containers}
    states = {}
    for name, runtime_id in ids.items():
        try:
            states[name] = runtime.inspect_container(runtime_id) if runtime_id else None
        except Exception:  # the container is gone; the model still answers
            states[name] = None
    with lock:
        return documents.task(task, states, 4, True)

"""The port the emulator served on when each task started, kept across a restart.

A task's containers are given the emulator's URL in their environment at their start
(task_environment.py), and it cannot change after; a restart on another port leaves adopted
tasks calling the old one. Which port is a task's own: one emulator run may adopt tasks of
several earlier runs, each on its port.
"""

from __future__ import annotations

from collections import Counter
from typing import Callable

from emulator.engine.hooks import TaskHook


class StartPorts(TaskHook):
    persistent_fields = ("_by_task",)  # kept across a restart (persistence/parts.py)

    def __init__(self, port: Callable[[], int]):
        self._port = port
        self._by_task: dict[str, int] = {}  # task ARN -> the port its containers were given

    def before_create(self, store, task) -> None:
        port = self._port()
        if port:
            self._by_task[task.arn] = port

    def on_stopped(self, store, task) -> None:
        self._by_task.pop(task.arn, None)

    def elsewhere(self, tasks, port: int, unrecorded: int | None) -> Counter:
        """How many of `tasks` (adopted, their containers made) were started on each port
        other than `port`. A task with no port kept (state of a version that kept one port per
        run) is taken as started on `unrecorded`, the last run's port, and kept so from now."""
        for task in tasks:
            if task.arn not in self._by_task and unrecorded:
                self._by_task[task.arn] = unrecorded
        return Counter(self._by_task[task.arn] for task in tasks
                       if self._by_task.get(task.arn, port) != port)

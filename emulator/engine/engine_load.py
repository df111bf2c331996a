"""How many live tasks each Docker Engine runs, in all and per task group, kept as counts.

Choosing an engine for a Fargate task (engines.py) compares the engines' loads under the state
lock; counting them by scanning every task of the store there made each launch cost O(tasks).
Here a task is counted once when it gets its engine, and uncounted once it is meant to stop or
has stopped (the task engine's listeners hear of every known-status change, and a stop asked
for is followed by one: STOPPING or STOPPED), so a choice costs O(engines).
"""

from __future__ import annotations

import threading
from collections import Counter

from emulator.runtime.status import TaskStatus


class EngineLoad:
    def __init__(self):
        self._lock = threading.Lock()  # taken inside the state lock, never around it
        self._tasks: dict[str, tuple[str, str | None]] = {}  # task ARN -> (engine, group)
        self._totals: Counter = Counter()  # engine -> live tasks
        self._groups: Counter = Counter()  # (engine, group) -> live tasks

    def count(self, task) -> None:
        """`task` runs on `task.engine` (once per task; a task over already is not counted)."""
        if task.engine is None or _over(task):
            return
        with self._lock:
            if task.arn in self._tasks:
                return
            self._tasks[task.arn] = (task.engine, task.group)
            self._totals[task.engine] += 1
            self._groups[(task.engine, task.group)] += 1

    def on_task_changed(self, store, task) -> None:
        """A task engine listener: a task meant to stop, or stopped, no longer counts."""
        if _over(task):
            self.forget(task.arn)

    def forget(self, arn: str) -> None:
        with self._lock:
            placed = self._tasks.pop(arn, None)
            if placed is None:
                return
            self._totals[placed[0]] -= 1
            self._groups[placed] -= 1
            if not self._groups[placed]:
                del self._groups[placed]

    def load(self, engine: str, group: str | None) -> tuple[int, int]:
        """(live tasks of `group` on `engine`, live tasks on `engine`)."""
        with self._lock:
            return self._groups[(engine, group)], self._totals[engine]

    def tasks_on(self, engine: str) -> int:
        with self._lock:
            return self._totals[engine]


def _over(task) -> bool:
    return task.stop_requested or task.known >= TaskStatus.STOPPED

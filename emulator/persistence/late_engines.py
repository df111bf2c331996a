"""Persisted tasks whose Docker Engine is not configured at this start (it was added with
`engines add` in the previous run, or dropped from ECS_EMULATOR_ENGINES).

Their containers are on an engine this run cannot reach yet: matched against another engine's
containers they would look removed and be stopped, and their own containers would be left
running where nobody watches them. So adoption (adoption.py) holds them as the state file has
them, with no runner and nothing asked of any engine, for ECS_EMULATOR_ENGINE_LOST_AFTER:

- `engines add NAME ...` within that time (the same name; engines.py's `on_added`, before its
  events are watched) adopts them on it as at start: its containers of this emulator are
  listed, each held task gets its own back (or is stopped as its containers say), and what no
  task owns there is removed;
- otherwise they are lost as the tasks of an engine that stopped answering are (STOPPED,
  TerminationNotice, replaced by their services), and an engine of that name added later is
  swept of them by the same adoption (no task is held for it any more).
"""

from __future__ import annotations

import logging
import threading

from emulator.engine.engine_outage import LOST_REASON
from emulator.engine.sandbox_pool import POOL_NAME
from emulator.runtime import labels

log = logging.getLogger("emulator.persistence")

UNKNOWN_ADDRESS = "{} (not configured at this start)"


class LateEngines:
    def __init__(self, engine, state, lost_after_s: float):
        self.engine = engine  # the TaskEngine
        self.state = state
        self.lost_after_s = lost_after_s
        self._held: dict[str, list] = {}  # engine name -> [(store, task)]
        self._lock = threading.Lock()
        self._timers: list[threading.Timer] = []

    def hold(self, name: str, tasks: list) -> None:
        log.warning("%d persisted tasks ran on the Docker Engine %s, which is not configured: "
                    "held for %g s for `ecs-emulator engines add %s ...`", len(tasks), name,
                    self.lost_after_s, name)
        with self._lock:
            self._held.setdefault(name, []).extend(tasks)
        timer = threading.Timer(self.lost_after_s, self._lose, args=(name,))
        timer.daemon = True
        timer.start()
        self._timers.append(timer)

    def added(self, added) -> None:
        """Engine `added` (engines.Engine) joins at run time: adopt what was held for its name,
        and sweep what no task owns there (always: tasks lost meanwhile left containers)."""
        from emulator.persistence.adoption import adopt_on

        with self._lock:
            held = self._held.pop(added.name, [])
        with self.state.lock:  # (one stopped meanwhile is adopted to be stopped: its runner)
            live_arns = {task.arn for store in self.state.stores()
                         for task in store.tasks.values() if not _stopped(task)}
        try:
            owned = added.runtime.owned()
        except Exception:  # it answered the add a moment ago: keep them for the timer
            log.warning("could not list the Docker Engine %s's containers", added.name,
                        exc_info=True)
            with self._lock:
                self._held.setdefault(added.name, []).extend(held)
            return
        owned = (self._not_this_runs(added, owned[0]), owned[1])
        adopted = adopt_on(self.engine, self.state, added.runtime, owned, held, live_arns)
        if held:
            log.info("%d persisted tasks adopted on the Docker Engine %s", adopted, added.name)

    def _not_this_runs(self, added, containers: list[dict]) -> list[dict]:
        """The engine takes tasks from the moment it is added: what this run made there
        already (a new task's containers, the pool's spares) is left out of the sweep."""
        with self.state.lock:
            running = self.engine.tasks_with_runners()
            sandboxes = {task.sandbox_id for _, task in self.engine.live_tasks(added.runtime)
                         if task.sandbox_id}
        spares = [c["Id"] for c in containers
                  if (c.get("Labels") or {}).get(labels.CONTAINER_NAME) == POOL_NAME]
        pool = getattr(added, "sandboxes", None)
        free = set(pool.unowned(spares, running, sandboxes) if pool is not None else spares)
        return [c for c in containers
                if (c.get("Labels") or {}).get(labels.TASK_ARN) not in running
                and (c["Id"] in free or c["Id"] not in spares)]

    def _lose(self, name: str) -> None:
        from emulator.persistence.adoption import AdoptedTaskRunner

        with self._lock:
            held = self._held.pop(name, [])
        if not held:
            return
        reason = LOST_REASON.format(UNKNOWN_ADDRESS.format(name), self.lost_after_s)
        with self.state.lock:
            for store, task in held:
                if not task.stop_requested:
                    task.request_stop("TerminationNotice", reason)
                # its runner sees it to STOPPED (its containers are out of reach: the sweep of
                # an engine of that name added later removes them)
                self.engine.adopt(task, AdoptedTaskRunner(self.engine, store, task, None, []))
            self.state.changed.notify_all()
        log.warning("%d tasks lost with the Docker Engine %s, not configured", len(held), name)

    def close(self) -> None:
        for timer in self._timers:
            timer.cancel()


def _stopped(task) -> bool:
    from emulator.runtime.status import TaskStatus

    return task.known >= TaskStatus.STOPPED

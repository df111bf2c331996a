"""When Docker itself fails, on the fake runtime: the clean-up of what dead emulators left
behind waits for the engine to answer instead of being skipped for good."""

from emulator.config import Settings
from emulator.ecs.store import EcsState
from emulator.engine.task_engine import TaskEngine
from emulator.runtime.fake import FakeRuntime
from tests.waiting import wait_for


class DownThenUp(FakeRuntime):
    """An engine that does not answer until the test says it does."""

    def __init__(self):
        super().__init__()
        self.down = True
        self.cleanups = 0

    def remove_orphans(self) -> int:
        if self.down:
            raise ConnectionError("the engine does not answer")
        self.cleanups += 1
        return 0

    def events(self, until_stopped, since=None):
        if self.down:
            raise ConnectionError("the engine does not answer")
        return super().events(until_stopped, since)


def test_orphans_are_removed_once_the_engine_answers():
    engine = TaskEngine(EcsState(), DownThenUp, Settings())
    engine.start()
    try:
        runtime = engine.runtime
        wait_for(lambda: runtime.calls, lambda calls: True, timeout=1)  # the watcher is up
        assert runtime.cleanups == 0
        runtime.down = False
        wait_for(lambda: runtime.cleanups, lambda n: n == 1, timeout=10)
    finally:
        engine.stop()
    assert runtime.cleanups == 1  # once, not on every reconnection

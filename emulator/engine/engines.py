"""The Docker Engines tasks run on, each watched for its health (wired by app.py).

Today one engine: the one DOCKER_HOST (or the default socket) names, whose container instance in
each cluster is the local host the emulator registers itself (ecs/local_instance.py). Its health
monitor (engine_health.py) drives what an outage means (engine_outage.py): agentConnected,
launches held, dead containers removed on its return.
"""

from __future__ import annotations

from emulator.engine.engine_health import EngineHealth
from emulator.engine.engine_outage import EngineOutage

DEFAULT_ENGINE = "default"


def install(emulator, settings) -> EngineOutage:
    """Watch the emulator's engine; the outage handler (its health is `.health`)."""
    engine = emulator.engine
    health = EngineHealth(DEFAULT_ENGINE, settings.docker_environment())
    outage = EngineOutage(engine, health, engine.runtime,
                          on_engine=lambda instance: instance.auto_registered)
    engine.health = health
    emulator.scheduler.engine_answers = health.answering
    local_host = emulator.ecs.local_host
    if local_host is not None:
        local_host.connected = health.answering
    emulator.starters.append(health.start)
    emulator.closers.append(health.stop)
    return outage

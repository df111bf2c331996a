"""Background work: the task engine (desired vs known state), the service scheduler, and the
Docker Engines tasks run on (their health, load, outages and removal). Never imports Flask."""

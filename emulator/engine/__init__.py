"""Background work: the task engine (desired vs known state) and, later, the service scheduler.
Never imports Flask."""

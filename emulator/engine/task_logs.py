"""The awslogs log driver: containers whose logConfiguration names "awslogs" have their stdout and
stderr shipped into CloudWatch Logs (moto's backend in this process), as on ECS.

Options, as the ECS developer guide describes them:
- awslogs-group (required) in awslogs-region (the task's region if absent; it may be another);
- awslogs-create-group "true" creates a missing group; without it a missing group fails the task
  before its containers are created, with ECS's ResourceInitializationError;
- awslogs-stream-prefix names the stream `prefix/container-name/task-id`; without it the stream is
  named after the Docker container id, as the guide says;
- awslogs-datetime-format (strftime) or awslogs-multiline-pattern (a regex; the datetime format
  wins when both are set) join a matching line and the lines that follow into one event;
- mode and max-buffer-size are accepted: nothing is dropped here, since lines are read from the
  json-file log Docker keeps, whatever the mode.

Every container runs with Docker's json-file driver (runtime/docker_specs.py), whatever its
logConfiguration: other log drivers (fluentd, splunk, awsfirelens, ...) are left at that, and
their output stays readable with `docker logs`.

Shipping starts when the task is RUNNING (a thread per container, reading from the container's
start) and is waited for, with a bound, after the containers exited and before they are removed,
so every line is in CloudWatch Logs when the task reports STOPPED.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from api_shapes.validate import lone_surrogates_replaced
from emulator.engine.hooks import TaskHook, TaskSetupError
from emulator.engine.task_log_shipper import LogShipper, Pattern, strftime_regex

log = logging.getLogger("emulator.logs")

DRIVER = "awslogs"
FLUSH_TIMEOUT_S = 20.0  # how long a stopping task waits for its logs to be put

LOGGER_ARGS = "ResourceInitializationError: failed to validate logger args: "
# What Fargate reports when the group is missing (the stream is what Docker creates first).
GROUP_MISSING = (LOGGER_ARGS + "create stream has been retried 1 times: failed to create "
                 "Cloudwatch log stream: ResourceNotFoundException: The specified log group does "
                 "not exist. : exit status 1")

# The options Docker's awslogs driver knows; it refuses any other.
KNOWN_OPTIONS = frozenset({
    "awslogs-region", "awslogs-endpoint", "awslogs-group", "awslogs-stream",
    "awslogs-stream-prefix", "awslogs-create-group", "awslogs-create-stream",
    "awslogs-datetime-format", "awslogs-multiline-pattern", "awslogs-credentials-endpoint",
    "awslogs-force-flush-interval-seconds", "awslogs-max-buffered-events", "awslogs-format",
    "tag", "mode", "max-buffer-size",
})
_TRUE = {"1", "t", "T", "TRUE", "true", "True"}  # Go's strconv.ParseBool
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}
_MODES = ("blocking", "non-blocking")


@dataclass(frozen=True)
class AwsLogsOptions:
    """A container's awslogs options: group, region, stream prefix."""
    group: str
    region: str
    stream_prefix: str | None
    stream: str | None  # Docker's own awslogs-stream, used when there is no prefix
    create_group: bool
    pattern: Pattern | None

    def stream_name(self, task_id: str, container_name: str, container_id: str) -> str:
        if self.stream_prefix:
            return f"{self.stream_prefix}/{container_name}/{task_id}"
        return self.stream or container_id


def awslogs_options(definition: dict, default_region: str) -> AwsLogsOptions | None:
    """A container definition's awslogs options; None if it uses another driver (or none).

    Raises TaskSetupError with the reason ECS gives when the options are wrong.
    """
    configuration = definition.get("logConfiguration") or {}
    if configuration.get("logDriver") != DRIVER:
        return None
    options = configuration.get("options") or {}
    for name in options:
        if name not in KNOWN_OPTIONS:
            raise TaskSetupError(f"{LOGGER_ARGS}unknown log opt '{name}' for {DRIVER} log driver")
    group = options.get("awslogs-group")
    if not group:
        raise TaskSetupError(f"{LOGGER_ARGS}must specify a value for log opt 'awslogs-group'")
    mode = options.get("mode")
    if mode and mode not in _MODES:
        raise TaskSetupError(f"{LOGGER_ARGS}logger: logging mode not supported: {mode}")
    return AwsLogsOptions(
        group=group,
        region=options.get("awslogs-region") or default_region,
        stream_prefix=options.get("awslogs-stream-prefix") or None,
        stream=options.get("awslogs-stream") or None,
        create_group=_bool(options.get("awslogs-create-group") or "false"),
        pattern=_multiline_pattern(options),
    )


def _bool(text: str) -> bool:
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise TaskSetupError(f'{LOGGER_ARGS}strconv.ParseBool: parsing "{text}": invalid syntax')


def _multiline_pattern(options: dict) -> Pattern | None:
    """The pattern compiled by RE2, as Docker's awslogs compiles it (Go's regexp is RE2): its
    syntax, so what Docker refuses (backreferences, lookarounds) is refused, and a search in
    time linear in the line. Python's re would backtrack: a task's `(a+)+$` and a line of 40
    `a`s would hold this process (and the GIL) for days."""
    import re2  # noqa: PLC0415 - only for tasks that ask for a pattern

    datetime_format = options.get("awslogs-datetime-format")
    source = strftime_regex(datetime_format) if datetime_format else \
        options.get("awslogs-multiline-pattern")
    if not source:
        return None
    quiet = re2.Options()
    quiet.log_errors = False  # the error is the task's stoppedReason, not our stderr's
    try:  # (a lone surrogate, which RE2's UTF-8 cannot hold, is U+FFFD to Docker's Go too)
        return re2.compile(lone_surrogates_replaced(source), quiet)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) \
            else str(error)
        raise TaskSetupError(f"{LOGGER_ARGS}awslogs could not parse multiline pattern key "
                             f"\"{source}\": {reason}") from None


class AwsLogs(TaskHook):
    """The task hook: checks (and creates) log groups, then ships each awslogs container's log."""

    def __init__(self, moto, runtime_of):
        self._moto = moto
        self._runtime_of = runtime_of  # task -> the runtime of its Docker Engine (engines.py)
        self._lock = threading.Lock()
        self._shippers: dict[str, dict[str, LogShipper]] = {}  # task ARN -> container -> shipper

    def before_create(self, store, task) -> None:
        for container in task.containers:
            options = awslogs_options(container.definition, store.region)
            if options is not None:
                self._ensure_group(store, options)

    def on_running(self, store, task) -> None:
        self._start_shipping(store, task)

    def on_adopted(self, store, task) -> None:
        """A task a restarted emulator took back (emulator/persistence/adoption.py)."""
        self._start_shipping(store, task)

    def on_stopped(self, store, task) -> None:
        # A container that exited before the task was RUNNING got no shipper yet: it gets one
        # now, and reads its whole log as the others finish theirs.
        self._start_shipping(store, task)
        with self._lock:
            shippers = self._shippers.pop(task.arn, {})
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        for name, shipper in shippers.items():
            if not shipper.join(max(0.0, deadline - time.monotonic())):
                log.warning("task %s: the log of container %s was not all shipped within %ss",
                            task.id, name, FLUSH_TIMEOUT_S)

    # -- helpers ----------------------------------------------------------------------------

    def _backend(self, store, region: str):
        try:
            return self._moto.backend("logs", store.account, region)
        except KeyError:
            raise TaskSetupError(f"{LOGGER_ARGS}failed to create Cloudwatch log stream: "
                                 f"unknown awslogs-region {region!r}") from None

    def _ensure_group(self, store, options: AwsLogsOptions) -> None:
        backend = self._backend(store, options.region)
        if options.group in backend.groups:
            return
        if not options.create_group:
            raise TaskSetupError(GROUP_MISSING)
        try:
            backend.create_log_group(options.group, {})
        except Exception as error:  # moto's errors carry the AWS code and message
            if getattr(error, "error_type", "") == "ResourceAlreadyExistsException":
                return  # another container of the task (or another task) made it just now
            raise TaskSetupError(f"{LOGGER_ARGS}failed to create Cloudwatch log group: "
                                 f"{_aws_error(error)}") from None

    def _start_shipping(self, store, task) -> None:
        for container in task.containers:
            if not container.runtime_id or not container.started:
                continue
            try:
                options = awslogs_options(container.definition, store.region)
            except TaskSetupError:  # before_create refused these options: nothing was created
                continue
            if options is None:
                continue
            backend = self._backend(store, options.region)
            stream = options.stream_name(task.id, container.name, container.runtime_id)
            # Looked up and claimed in one step: two hooks at once (an adopted task's and its
            # running one) must not both ship the container's log (each line would go twice).
            with self._lock:
                if container.name in self._shippers.get(task.arn, {}):
                    continue
                shipper = LogShipper(self._runtime_of(task), container.runtime_id, backend,
                                     options.group, stream, options.pattern,
                                     _shipped_until(backend, options, stream))
                self._shippers.setdefault(task.arn, {})[container.name] = shipper
            shipper.start()


def _shipped_until(backend, options: AwsLogsOptions, stream: str) -> float | None:
    """Where the stream's events end (epoch seconds), for a container whose log was shipped
    before the emulator restarted; None for a new stream."""
    group = backend.groups.get(options.group)
    found = group.streams.get(stream) if group is not None else None
    # From the events themselves: moto updates the stream's lastEventTimestamp only when the
    # stream is described, so it may be None (or older) for events put since.
    stamps = [event.timestamp for event in getattr(found, "events", None) or ()]
    return (max(stamps) + 1) / 1000 if stamps else None


def _aws_error(error: Exception) -> str:
    code = getattr(error, "error_type", None) or type(error).__name__
    message = getattr(error, "message", None) or str(error)
    return f"{code}: {message}"

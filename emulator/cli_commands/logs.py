"""A task's container output: from CloudWatch Logs when the container uses the awslogs driver (as
`ecs-cli logs` reads it), else from Docker, by the label ecs-emulator.task-arn=<arn>.

With --follow, new lines print as they come until the task stops (or Ctrl-C).
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import datetime, timezone

from emulator.cli_commands.connection import CliError
from emulator.cli_commands.docker_access import task_container
from emulator.cli_commands.tasks import pick_containers, task_id

POLL_S = 1.0


def show_logs(conn, task: dict, container_name: str | None, *, follow: bool = False,
              timestamps: bool = False, since_minutes: int | None = None,
              filter_pattern: str | None = None) -> int:
    ecs = conn.client("ecs")
    definition = ecs.describe_task_definition(taskDefinition=task["taskDefinitionArn"])
    by_name = {c["name"]: c for c in definition["taskDefinition"]["containerDefinitions"]}
    containers = pick_containers(task, container_name)
    start_ms = int((time.time() - since_minutes * 60) * 1000) if since_minutes else None
    sources = [_source(conn, task, c, by_name.get(c["name"], {}), start_ms, filter_pattern)
               for c in containers]
    printer = _Printer(timestamps, prefixed=len(sources) > 1)
    if not follow:
        for source in sources:
            source.read(printer)
        return 0
    stopped = threading.Event()
    threads = [threading.Thread(target=_following, args=(s, printer, stopped), daemon=True)
               for s in sources]
    for thread in threads:
        thread.start()
    try:
        while any(t.is_alive() for t in threads) and not printer.reader_gone:
            if _task_stopped(ecs, task):
                stopped.set()
            for thread in threads:
                thread.join(timeout=POLL_S * 2)
    except KeyboardInterrupt:
        stopped.set()
    if printer.reader_gone:  # (raised here, the main thread's, so the command ends as 141)
        raise BrokenPipeError("the reader of the output is gone")
    return 0


def _following(source, printer: _Printer, stopped: threading.Event) -> None:
    """A source's follow() on its thread, ended when the reader of the output is gone
    (`logs --follow | head -1`): the thread's BrokenPipeError was printed as a traceback."""
    try:
        source.follow(printer, stopped)
    except BrokenPipeError:
        printer.reader_gone = True
        stopped.set()


def _task_stopped(ecs, task: dict) -> bool:
    found = ecs.describe_tasks(cluster=task["clusterArn"], tasks=[task["taskArn"]])["tasks"]
    return not found or found[0]["lastStatus"] == "STOPPED"


class _ReaderGone(BrokenPipeError):
    """The output's reader closed the pipe (seen by one thread): every source stops."""


class _Printer:
    def __init__(self, timestamps: bool, prefixed: bool):
        self.timestamps = timestamps
        self.prefixed = prefixed
        self.reader_gone = False
        self._lock = threading.Lock()

    def emit(self, container: str, message: str, at_ms: int | None = None) -> None:
        line = message.rstrip("\n")
        if self.timestamps and at_ms is not None:
            stamp = datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc).isoformat()
            line = f"{stamp}\t{line}"
        if self.prefixed:
            line = f"{container} | {line}"
        with self._lock:
            if self.reader_gone:
                raise _ReaderGone
            try:
                print(line, flush=True)
            except BrokenPipeError:
                self.reader_gone = True
                raise _ReaderGone from None


def _source(conn, task, container: dict, definition: dict, start_ms, filter_pattern):
    config = definition.get("logConfiguration") or {}
    if config.get("logDriver") == "awslogs":
        options = config.get("options") or {}
        stream = _stream_name(options, task, container)
        region = options.get("awslogs-region") or task["taskArn"].split(":")[3]
        return _CloudWatch(conn.client("logs", region=region), options["awslogs-group"], stream,
                           container["name"], start_ms, filter_pattern)
    if filter_pattern:
        raise CliError("--filter-pattern needs the awslogs log driver (CloudWatch Logs)")
    return _Docker(task, container["name"], start_ms)


def _stream_name(options: dict, task: dict, container: dict) -> str:
    # The awslogs driver's rule: prefix/container/task-id, else awslogs-stream, else the
    # Docker container's id.
    if options.get("awslogs-stream-prefix"):
        return f"{options['awslogs-stream-prefix']}/{container['name']}/{task_id(task)}"
    return options.get("awslogs-stream") or container.get("runtimeId", "")


class _CloudWatch:
    def __init__(self, logs, group, stream, name, start_ms, filter_pattern):
        self.logs, self.group, self.stream, self.name = logs, group, stream, name
        self.start_ms, self.filter_pattern = start_ms, filter_pattern
        self.token: str | None = None

    def _fetch(self) -> list[dict]:
        from botocore.exceptions import ClientError

        if self.filter_pattern:
            return self._filtered()
        kwargs = {"logGroupName": self.group, "logStreamName": self.stream, "startFromHead": True}
        if self.start_ms is not None:
            kwargs["startTime"] = self.start_ms
        events = []
        while True:
            if self.token:
                kwargs["nextToken"] = self.token
            try:
                page = self.logs.get_log_events(**kwargs)
            except ClientError as error:
                if error.response["Error"]["Code"] == "ResourceNotFoundException":
                    return events  # the stream appears when the container first writes
                raise
            events += page["events"]
            if page.get("nextForwardToken") in (None, self.token):
                return events
            self.token = page["nextForwardToken"]
            if not page["events"]:
                return events

    def _filtered(self) -> list[dict]:
        kwargs = {"logGroupName": self.group, "logStreamNames": [self.stream],
                  "filterPattern": self.filter_pattern}
        if self.start_ms is not None:
            kwargs["startTime"] = self.start_ms
        events = []
        for page in self.logs.get_paginator("filter_log_events").paginate(**kwargs):
            events += page["events"]
        if events:
            self.start_ms = events[-1]["timestamp"] + 1
        return events

    def read(self, printer: _Printer) -> None:
        for event in self._fetch():
            printer.emit(self.name, event["message"], event.get("timestamp"))

    def follow(self, printer: _Printer, stopped: threading.Event) -> None:
        while True:
            last_round = stopped.is_set()
            self.read(printer)
            if last_round:
                return
            stopped.wait(POLL_S)


class _Docker:
    def __init__(self, task, name, start_ms):
        self.task, self.name, self.start_ms = task, name, start_ms
        self.timestamps = False  # Docker's own per line, asked for when --timestamps is

    def _container(self):
        container = task_container(self.task["taskArn"], self.name)
        if container is None:
            raise CliError(f"container {self.name} of task {task_id(self.task)} is gone: without "
                           "the awslogs driver, output lives only as long as the container")
        return container

    def _kwargs(self, printer: _Printer) -> dict:
        self.timestamps = printer.timestamps
        kwargs = {"timestamps": True} if self.timestamps else {}
        if self.start_ms:
            kwargs["since"] = int(self.start_ms / 1000)
        return kwargs

    def read(self, printer: _Printer) -> None:
        output = self._container().logs(stdout=True, stderr=True, **self._kwargs(printer))
        # "\n" only, as follow() splits: splitlines() also split at "\r", "\f" and the like
        # inside a line, and took the first word of each piece for Docker's time stamp.
        text = output.decode(errors="replace")
        for line in text.removesuffix("\n").split("\n") if text else ():
            self._emit(printer, line)

    def follow(self, printer: _Printer, stopped: threading.Event) -> None:
        pending = ""
        for chunk in self._container().logs(stream=True, follow=True, **self._kwargs(printer)):
            pending += chunk.decode(errors="replace")
            *lines, pending = pending.split("\n")
            for line in lines:
                self._emit(printer, line)
        if pending:
            self._emit(printer, pending)
        sys.stdout.flush()

    def _emit(self, printer: _Printer, line: str) -> None:
        if not self.timestamps:
            printer.emit(self.name, line)
            return
        stamp, _, message = line.partition(" ")
        at_ms = _docker_time_ms(stamp)
        # (a line without Docker's stamp is all message: none of its words is dropped)
        printer.emit(self.name, line if at_ms is None else message, at_ms)


def _docker_time_ms(stamp: str) -> int | None:
    """Docker's RFC 3339 time with nanoseconds (`2026-12-07T02:31:31.123456789Z`) in ms, so a
    line from Docker is stamped as one from CloudWatch Logs is."""
    seconds, _, fraction = stamp.rstrip("Z").partition(".")
    try:
        at = datetime.strptime(seconds, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    if fraction and not fraction.isdigit():
        return None
    return int(at.timestamp() * 1000) + int((fraction + "000")[:3])

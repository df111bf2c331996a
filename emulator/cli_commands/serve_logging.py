"""What `ecs-emulator serve` prints: one line per API call and one per task state change.

    13:45:50.322 api   ecs.CreateService 200 0.9ms
    13:45:51.406 task  70598cbd5d8740fe9f1aea475e6fa0b7 PENDING
    13:45:52.110 api   logs.CreateLogGroup 200 3.1ms

The router logs the calls of the services we emulate (ECS, ECR); RequestLog logs the rest
(moto's services, the control endpoint, the registry), so every call gets exactly one line.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from emulator.aws.context import form_action, signing_service

log = logging.getLogger("emulator.requests")

# C0 and C1 controls and DEL: what a task's request (its path, X-Amz-Target, Action) could carry
# to move the operator's terminal (escape sequences: colours, title, clipboard) or to start a
# line of its own that looks like ours. Shown as \xNN instead.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def _shown(match: re.Match) -> str:
    return f"\\x{ord(match[0]):02x}"


def printable(text: str, lines: bool = False) -> str:
    """`text` with its control characters written out (its line ends kept if `lines`)."""
    if text.isprintable():  # nearly every line: no control character, nothing to replace
        return text
    return (_CONTROL_BUT_LINES if lines else _CONTROL).sub(_shown, text)


def indented(traceback: str) -> str:
    """A traceback's lines, escaped and each indented: a line of it (an exception's message may
    quote a caller's text, line ends and all) never starts where ours do, with a time."""
    return "\n".join("    " + line for line in printable(traceback, lines=True).split("\n"))


_TAGS = {"emulator.requests": "api", "emulator.tasks": "task", "emulator.engine": "engine",
         "emulator.server": "server", "emulator.logs": "logs", "emulator.scheduler": "sched"}


class ReadableFormatter(logging.Formatter):
    """Time of day, a short tag for where the line comes from, the message; level if notable."""

    _second: tuple[int, str] = (-1, "")  # the last whole second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname} " if record.levelno >= logging.WARNING else ""
        line = self.line(record.created, record.name, level + record.getMessage())
        if record.exc_info:  # a traceback's lines are its own, indented; what they quote too
            line += "\n" + indented(self.formatException(record.exc_info))
        return line

    def line(self, created: float, name: str, message: str) -> str:
        """The line of logger `name`'s message at `created` (time.time()), of a level below
        WARNING."""
        second, stamp = self._second
        if int(created) != second:  # localtime() and strftime() once a second, not a line
            second = int(created)
            stamp = time.strftime("%H:%M:%S", time.localtime(second))
            self._second = (second, stamp)
        tag = _TAGS.get(name) or name.removeprefix("emulator.")
        msecs = int((created - int(created)) * 1000)  # as LogRecord's
        return f"{stamp}.{msecs:03d} {tag:<5} {printable(message)}"


class BatchingHandler(logging.StreamHandler):
    """A StreamHandler that writes lines in batches, at most FLUSH_DELAY_S after they are logged.

    A busy server logs a line per call; written one by one, each is a write(2) under the
    handler's lock, where the worker threads queue behind each other (scripts/bench/capacity.py
    measured a quarter of a DescribeClusters call's CPU in it). A warning or error, and whatever
    came before it, goes out at once; logging.shutdown() flushes the rest at exit."""

    FLUSH_DELAY_S = 0.02

    def __init__(self, stream=None):
        super().__init__(stream)
        self._pending: list[str] = []
        self._wake = threading.Event()
        self._writer: threading.Thread | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self._append(line, urgent=record.levelno >= logging.WARNING)

    def api_line(self, message: str) -> None:
        """The line emulator.requests would log at INFO with `message`, written as emit() writes
        a record's, without the record: the router's line for each API call, where making a
        LogRecord and passing it through the logger cost about a tenth of a small call's CPU."""
        try:
            line = self.formatter.line(time.time(), log.name, message) + self.terminator
        except Exception:  # as emit(): a line must not break a request
            return
        self._append(line, urgent=False)

    def _append(self, line: str, urgent: bool) -> None:
        with self.lock:
            self._pending.append(line)
            if urgent:
                self._write_pending()
                return
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_batches, name="log-writer",
                                                daemon=True)
                self._writer.start()
        # Setting an Event takes its lock and notifies; once set, the writer has yet to clear
        # it and write, and what was appended above goes out with that write.
        if not self._wake.is_set():
            self._wake.set()

    def flush(self) -> None:
        with self.lock:
            self._write_pending()

    def _write_batches(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.FLUSH_DELAY_S)  # lines logged meanwhile join the batch
            self._wake.clear()
            self.flush()

    def _write_pending(self) -> None:  # under the lock
        if self._pending:
            text, self._pending = "".join(self._pending), []
            try:
                self.stream.write(text)
                self.stream.flush()
            except Exception:  # as StreamHandler: a closed stream must not break a request
                pass


def configure_logging() -> BatchingHandler:
    # What ReadableFormatter never prints is not gathered for each line either (the logging
    # HOWTO's "Optimization"): the caller's file and line (a walk up the stack), the thread's
    # name, the process's id and name. A tenth of a small API call's CPU went to its line.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = BatchingHandler()
    handler.setFormatter(ReadableFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("werkzeug", "botocore", "urllib3", "docker"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler


class RequestLog:
    """WSGI middleware: a line for each request the router does not log itself."""

    def __init__(self, app, logged_by_router: set[str]):
        self._app = app
        self._router_prefixes = logged_by_router  # X-Amz-Target prefixes of our JSON services

    def __call__(self, environ: dict, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target and target.partition(".")[0] in self._router_prefixes:
            return self._app(environ, start_response)
        started = time.perf_counter()
        name = _operation(environ)
        status = []

        def recording_start_response(status_line, headers, exc_info=None):
            status.append(status_line.split(" ", 1)[0])
            return start_response(status_line, headers, exc_info)

        result = self._app(environ, recording_start_response)
        log.info("%s %s %.1fms", name, status[0] if status else "-",
                 (time.perf_counter() - started) * 1000)
        return result


def _operation(environ: dict) -> str:
    """service.Operation for AWS calls (moto's), else METHOD /path."""
    service = signing_service(environ)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target and service:
        return f"{service}.{target.rpartition('.')[2]}"
    action = form_action(environ)
    if action and service:
        return f"{service}.{action}"
    path = environ.get("PATH_INFO", "/")
    prefix = f"{service} " if service else ""
    return f"{prefix}{environ.get('REQUEST_METHOD', 'GET')} {path}"

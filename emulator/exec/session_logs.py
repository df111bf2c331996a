"""The session's output, where the cluster's executeCommandConfiguration sends it (as the SSM
agent does for ECS Exec): a CloudWatch Logs stream named after the session in the chosen group,
and an S3 object `<prefix>/<session id>.log`. Both in moto, written when the session ends.

A log group or bucket that does not exist is logged as a warning and skipped (the session itself
has already run).
"""

from __future__ import annotations

import logging
import re

from emulator.engine.task_log_shipper import batches, split_message
from emulator.exec.messages import now_ms
from emulator.exec.sessions import LogDestination

log = logging.getLogger("emulator.exec")

# What a terminal draws but a log reader does not want: ANSI escape sequences and carriage returns.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\r")


def lines_of(transcript: bytes) -> list[str]:
    text = _ESCAPES.sub("", transcript.decode("utf-8", errors="replace"))
    return [line for line in text.split("\n") if line]


class SessionLogs:
    def __init__(self, moto):
        self._moto = moto

    def write(self, destination: LogDestination, session_id: str, transcript: bytes) -> None:
        if destination.log_group:
            self._to_cloudwatch(destination, session_id, transcript)
        if destination.s3_bucket:
            self._to_s3(destination, session_id, transcript)

    def _to_cloudwatch(self, destination: LogDestination, session_id: str,
                       transcript: bytes) -> None:
        stamp = now_ms()
        events = [(stamp, piece) for line in lines_of(transcript) for piece in split_message(line)]
        try:
            backend = self._moto.backend("logs", destination.account, destination.region)
            backend.create_log_stream(destination.log_group, session_id)
            for batch in batches(events):
                backend.put_log_events(destination.log_group, session_id, batch)
        except Exception as error:  # moto's ResourceNotFoundException and kin
            log.warning("exec session %s: its output could not go to log group %s: %s",
                        session_id, destination.log_group, error)

    def _to_s3(self, destination: LogDestination, session_id: str, transcript: bytes) -> None:
        prefix = (destination.s3_key_prefix or "").strip("/")
        key = f"{prefix}/{session_id}.log" if prefix else f"{session_id}.log"
        try:
            from emulator.aws.context import partition_of

            s3 = self._moto.backend("s3", destination.account, partition_of(destination.region))
            s3.put_object(destination.s3_bucket, key, bytes(transcript))
        except Exception as error:  # moto's MissingBucket and kin
            log.warning("exec session %s: its output could not go to s3://%s/%s: %s",
                        session_id, destination.s3_bucket, key, error)

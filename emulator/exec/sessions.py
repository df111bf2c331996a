"""The ECS Exec sessions ExecuteCommand opened: what each one runs where, its token, and its data
channel once the plugin has connected.

A session is claimed by one connection (the first to send its token: the plugin's) and forgotten when its channel ends; one
that nobody connects to within OPEN_FOR_S is dropped, as an unused Session Manager session expires.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("emulator.exec")

OPEN_FOR_S = 600
SESSION_PREFIX = "ecs-execute-command-"


@dataclass(frozen=True)
class LogDestination:
    """Where the session's output goes (the cluster's executeCommandConfiguration, resolved)."""

    account: str
    region: str
    log_group: str | None = None  # CloudWatch Logs; the stream is named after the session
    s3_bucket: str | None = None
    s3_key_prefix: str | None = None


@dataclass(frozen=True)
class ExecTarget:
    """What ExecuteCommand asked for, in named values: the container and the command."""

    cluster_name: str
    task_id: str
    container_name: str
    runtime_id: str
    command: str
    logging: LogDestination | None = None
    engine: str | None = None  # the task's Docker Engine (engine/engines.py); None: the default


@dataclass
class Session:
    """One ECS Exec session: its token, the container it runs in and its state."""
    id: str
    token: str
    target: ExecTarget
    opened_at: float = field(default_factory=time.monotonic)
    claimed: bool = False  # a connection took it (one only)
    channel: object = None  # the DataChannel serving it

    @property
    def destination(self) -> str:
        """The SSM target name, as the AWS CLI builds it: ecs:<cluster>_<task id>_<runtime id>."""
        t = self.target
        return f"ecs:{t.cluster_name}_{t.task_id}_{t.runtime_id}"

    def token_matches(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(token.encode(), self.token.encode())


class ExecSessions:
    def __init__(self):
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def open(self, target: ExecTarget, host: str) -> dict:
        """A new session; ExecuteCommand's `session` (sessionId, streamUrl, tokenValue)."""
        session = Session(id=SESSION_PREFIX + secrets.token_hex(9)[:17],
                          token=secrets.token_urlsafe(96), target=target)
        with self._lock:
            self._drop_stale()
            self._sessions[session.id] = session
        return {
            "sessionId": session.id,
            # Our own port and scheme: the plugin's WebSocket dialer takes ws:// as it takes wss://.
            "streamUrl": f"ws://{host}/v1/data-channel/{session.id}?role=publish_subscribe",
            "tokenValue": session.token,
        }

    def claimable(self, session_id: str) -> bool:
        """Whether the session is there for a connection to claim (known, not yet taken)."""
        with self._lock:
            session = self._sessions.get(session_id)
            return session is not None and not session.claimed

    def claim(self, session_id: str, token: object) -> Session | None:
        """The session, for the first connection that sends its token; None if it is unknown,
        taken, or the token is not its (the session stays for the right one)."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None or session.claimed or not session.token_matches(token):
                return None
            session.claimed = True
            return session

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._sessions.pop(session_id, None)

    def active(self) -> list[Session]:
        with self._lock:
            return [s for s in self._sessions.values() if s.claimed]

    def close_all(self) -> None:
        """End every session (the emulator stops or resets): each process sees its terminal go."""
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            if session.channel is not None:
                session.channel.stop()

    def _drop_stale(self) -> None:
        cutoff = time.monotonic() - OPEN_FOR_S
        for session_id, session in list(self._sessions.items()):
            if not session.claimed and session.opened_at < cutoff:
                del self._sessions[session_id]

"""One ECS Exec data channel: the service side of what aws/session-manager-plugin's
src/datachannel speaks, joined to a `docker exec` of the session's command.

The conversation, as the plugin expects it from Session Manager and the SSM agent:
1. The plugin's first message is text: JSON with the session's TokenValue (`token_sent`; the
   service checks it before the session is the connection's). A wrong token closes the
   connection and leaves the session to the plugin.
2. We send a handshake request (output_stream_data, payload type 5) asking for the session type
   InteractiveCommands; the plugin answers with a handshake response (input_stream_data, type 6),
   and we send handshake complete (type 7). Then the plugin sets up the terminal and sends its size.
3. The size (type 3) starts the command with a TTY of that size; later sizes resize it. Keyboard
   input (type 1) goes to the TTY; the TTY's output goes back as output_stream_data (type 1).
4. Every stream message carries a sequence number (one sequence per direction) and is
   acknowledged by the receiver; ours are sent again until acknowledged, since the plugin drops
   (without acknowledging) output that arrives before its terminal is ready. Theirs are taken in
   order, once each.
5. When the command exits we wait (briefly) for our output to be acknowledged, then send
   channel_closed: the plugin prints "Exiting session with sessionId: ..." and exits 0, as on AWS,
   whatever the command's exit status (which is logged here, and not passed on by AWS either).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Callable

from emulator.exec import messages as m
from emulator.exec.docker_exec import DockerExec, ExecStartError
from emulator.exec.websocket import BINARY, TEXT, WebSocket, WebSocketClosed

log = logging.getLogger("emulator.exec")

AGENT_VERSION = "3.3.1802.0"  # what we claim to be in the handshake: a current SSM agent
SESSION_TYPE = "InteractiveCommands"  # ECS Exec's session type
RESEND_AFTER_S = 1.0
MAX_RESENDS = 10
ACK_WAIT_S = 3.0  # how long the end of a session waits for the plugin to take the last output
# A client that sends no size still gets its command: the plugin sends none when its terminal
# reports 0x0 (a bare pseudo-terminal), and sends one within milliseconds otherwise.
START_WITHOUT_SIZE_S = 1.0
DEFAULT_SIZE = (24, 80)
TRANSCRIPT_LIMIT = 4 * 1024 * 1024  # what is kept for the session's log
MAX_EARLY = 1000  # messages of the plugin's kept while one before them is missing


def token_sent(ws: WebSocket) -> str | None:
    """The TokenValue of the connection's first message (the plugin's open_data_channel
    request), None for anything else."""
    opcode, data = ws.receive()
    try:
        token = json.loads(data).get("TokenValue") if opcode == TEXT else None
    except (ValueError, AttributeError):
        return None
    return token if isinstance(token, str) else None


class DataChannel:
    def __init__(self, ws: WebSocket, session, start_exec: Callable[[int, int], DockerExec],
                 on_end: Callable[["DataChannel"], None]):
        self.session = session
        self._ws = ws
        self._start_exec = start_exec
        self._on_end = on_end
        self._lock = threading.Lock()  # our sequence numbers and the unacknowledged messages
        self._acked = threading.Condition(self._lock)
        self._next_sequence = 0
        self._unacked: dict[int, list] = {}  # sequence -> [sent at, wire bytes, resends]
        self._expected = 0  # the plugin's next sequence number
        self._early: dict[int, m.ClientMessage] = {}
        self._exec: DockerExec | None = None
        self._start_lock = threading.Lock()
        self._typed_early: list[bytes] = []  # keyboard input before the command started
        self._handshake_at: float | None = None
        self._completed_at: float | None = None
        self._stopped = threading.Event()
        self._pumping = False
        self.transcript = bytearray()
        self.exit_code: int | None = None

    # -- the WebSocket's reader (the thread that serve() runs on) -------------------------------

    def serve(self) -> None:
        try:
            self._handshake_at = time.monotonic()
            self._send_stream(m.handshake_request(self._take_sequence(), AGENT_VERSION,
                                                  SESSION_TYPE))
            threading.Thread(target=self._pump, name=f"exec-{self.session.id[-8:]}",
                             daemon=True).start()
            self._pumping = True
            while not self._stopped.is_set():
                opcode, data = self._ws.receive()
                if opcode == BINARY:
                    self._received(m.decode(data))
        except WebSocketClosed:
            pass
        except m.MessageError as error:
            log.warning("exec session %s: %s; closing it", self.session.id, error)
            self._ws.close()
        finally:
            self.stop()
            if not self._pumping:  # else the pump says when the session has ended
                self._on_end(self)

    def stop(self) -> None:
        """End the session from our side: the command's terminal goes, and the plugin hears
        channel_closed (without it, it would try to resume the session) if it is still there."""
        if self._exec is not None:
            self._exec.close()
        self._close_channel("")

    def _received(self, message: m.ClientMessage) -> None:
        if message.message_type == m.ACKNOWLEDGE:
            sequence = m.acknowledged_sequence(message)
            with self._lock:
                self._unacked.pop(sequence, None)
                self._acked.notify_all()
            return
        if message.message_type != m.INPUT_STREAM:
            return
        self._ws.send_binary(m.encode(m.acknowledgement(message)))
        if message.sequence_number < self._expected:
            return  # sent again before our acknowledgement reached the plugin
        if message.sequence_number > self._expected + MAX_EARLY:
            return  # far ahead of a gap: not kept (the plugin sends it again)
        self._early[message.sequence_number] = message
        while self._expected in self._early:
            self._take(self._early.pop(self._expected))
            self._expected += 1

    def _take(self, message: m.ClientMessage) -> None:
        kind = message.payload_type
        if kind == m.HANDSHAKE_RESPONSE:
            self._handshake_answered(message)
        elif kind == m.SIZE:
            size = m.terminal_size(message)
            if size is None:
                return
            if self._exec is None:
                self._start(*size)
            else:
                self._exec.resize(*size)
        elif kind == m.OUTPUT:  # the plugin's name for what the user typed
            with self._start_lock:
                if self._exec is None:
                    self._typed_early.append(message.payload)
                    return
            self._exec.write(message.payload)
        elif kind == m.FLAG and int.from_bytes(message.payload[:4], "big") == m.TERMINATE_SESSION:
            self.stop()

    def _handshake_answered(self, message: m.ClientMessage) -> None:
        answer = message.json()
        failed = [a for a in answer.get("ProcessedClientActions") or [] if a.get("ActionStatus") != 1]
        if failed or answer.get("Errors"):
            log.warning("exec session %s: the plugin refused the handshake: %s", self.session.id,
                        answer.get("Errors") or failed)
            self._close_channel("The session could not start: the client refused the handshake.")
            return
        took_ns = int((time.monotonic() - (self._handshake_at or time.monotonic())) * 1e9)
        self._send_stream(m.handshake_complete(self._take_sequence(), took_ns))
        self._completed_at = time.monotonic()

    def _start(self, rows: int, cols: int) -> None:
        # Once: the reader starts it on the terminal's size, the pump without one after a while.
        with self._start_lock:
            if self._exec is not None or self._stopped.is_set():
                return
            try:
                started = self._start_exec(rows, cols)
            except ExecStartError as error:
                log.warning("exec session %s could not start: %s", self.session.id, error)
                self._close_channel(f"The command could not start: {error}")
                return
            for typed in self._typed_early:
                started.write(typed)
            self._typed_early.clear()
            self._exec = started

    # -- the pump: the command's output out, resends, the end ---------------------------------

    def _pump(self) -> None:
        try:
            while not self._stopped.is_set() and self._exec is None:
                self._resend_due()
                ready = self._completed_at is not None
                if ready and time.monotonic() - self._completed_at > START_WITHOUT_SIZE_S:
                    self._start(*DEFAULT_SIZE)
                self._stopped.wait(0.05)
            while self._exec is not None and not self._stopped.is_set():
                chunk = self._exec.read(0.25)
                if chunk is None:
                    break
                if chunk:
                    self._record(chunk)
                    self._send_stream(m.output(self._take_sequence(), chunk))
                self._resend_due()
            if self._exec is not None and not self._stopped.is_set():
                self.exit_code = self._exec.exit_code()
                self._wait_for_acknowledgements()
                self._close_channel("")
        except WebSocketClosed:
            pass
        finally:
            self.stop()
            self._on_end(self)

    def _record(self, chunk: bytes) -> None:
        room = TRANSCRIPT_LIMIT - len(self.transcript)
        if room > 0:
            self.transcript += chunk[:room]

    def _wait_for_acknowledgements(self) -> None:
        deadline = time.monotonic() + ACK_WAIT_S
        while True:
            with self._lock:
                if not self._unacked or time.monotonic() >= deadline:
                    return
                self._acked.wait(0.2)
            self._resend_due()

    def _close_channel(self, text: str) -> None:
        """channel_closed, once, then the connection's close."""
        with self._lock:
            if self._stopped.is_set():
                return
            self._stopped.set()
        try:
            self._ws.send_binary(m.encode(m.channel_closed(self.session.id,
                                                           self.session.destination, text)))
        except WebSocketClosed:
            pass
        self._ws.close()

    # -- our stream: sequence numbers and resends ---------------------------------------------

    def _take_sequence(self) -> int:
        with self._lock:
            sequence = self._next_sequence
            self._next_sequence += 1
            return sequence

    def _send_stream(self, message: m.ClientMessage) -> None:
        wire = m.encode(message)
        with self._lock:
            self._unacked[message.sequence_number] = [time.monotonic(), wire, 0]
        self._ws.send_binary(wire)

    def _resend_due(self) -> None:
        now = time.monotonic()
        with self._lock:
            due = []
            for sequence, entry in sorted(self._unacked.items()):
                if now - entry[0] >= RESEND_AFTER_S:
                    entry[0], entry[2] = now, entry[2] + 1
                    due.append(entry[1])
                    if entry[2] >= MAX_RESENDS:  # the plugin has it and will not say so again
                        del self._unacked[sequence]
        for wire in due:
            self._ws.send_binary(wire)

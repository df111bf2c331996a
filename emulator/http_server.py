"""cheroot, tuned for what an AWS SDK sends: many small requests, one after another, on each
keep-alive connection.

cheroot keeps connections alive, runs a thread pool and streams request bodies, which the
registry needs for layers of gigabytes. Its own costs per request, though, are larger than the
emulator's work for most calls. Three changes, none of which alters what goes over the wire,
together take about a quarter off the server's CPU time per call (measured with
scripts/bench/api.py: about 440 -> 330 µs for DescribeClusters):

- The next request on a connection is served by the same worker thread when it arrives within
  a couple of milliseconds (an SDK client sends it as soon as it has read the response), instead
  of the connection going back to the selector thread and through the queue to a worker; while
  other connections are queued, only when it is already there, for a slice of 20 ms.
- A small response goes out with one write(2): socket.send() on a socket with a timeout polls
  first. Under concurrency every syscall is a point where the worker lets go of the GIL and
  must wait behind the other workers to get it back, so fewer of them keep throughput at 8 and
  32 connections above one connection's (scripts/bench/capacity.py).
- A response's headers and its first body chunk leave in one send(): one syscall, and the
  client wakes once per small response instead of twice.
- The request line and headers are read through io's BufferedReader, written in C; cheroot's
  own reader is `_pyio`'s, in Python, and each of a request's dozen header lines goes through it.
- And the request head is parsed, the environ made and the response head written by
  emulator/http_heads.py: cheroot's steps with fewer Python calls per request (behind a WSGI
  app that answers at once, the server spent 62 µs of CPU a request, now 40; scripts/bench/).

Under concurrency (emulator/http_admission.py): one worker serves requests at a time while they
keep to the CPU, taking the next waiting connection itself when it finishes one, instead of
sixteen workers trading the GIL at every syscall; a request that waits on something else (Docker,
a slow client) lets the next worker in after 2 ms (about 10 ms when its worker had been serving
request after request), and a worker holds its connection for the next request only while it
serves alone. This took the CPU per request at 32 connections back to within about 6% of one
connection's (scripts/bench/capacity.py).

And for large bodies (emulator/http_bodies.py): chunked request bodies are decoded without
cheroot's quadratic copying, and wsgi.file_wrapper files (Flask's send_file) go out with
sendfile(2).

Against hostile clients: a connection waits in the selector, not on a worker, until its request
head is whole (emulator/http_connections.py); framing that could smuggle a request past us
(a Content-Length that is not a plain number, two of them, or one beside chunked
Transfer-Encoding) is answered 400 and the connection closed; and a body the application did not
read is never read into memory afterwards: a small rest is skipped, otherwise the connection
closes.

WebSockets (ECS Exec's data channel, emulator/exec/): WSGI has no way to them, so the environ
carries TAKE_SOCKET, a function that hands the request's socket to the application for good.
cheroot then writes no response and leaves the socket open when the application returns; the
worker thread is free at once, and the application serves the connection on a thread of its own.
Chosen over a second listener so that the streamUrl is on the port the user already points at.
"""

from __future__ import annotations

import io
import os
import re
import select
import time

from emulator import cheroot_import  # noqa: F401  (before cheroot; see there)
from cheroot import errors as cheroot_errors
from cheroot import server as cheroot_server
from cheroot import wsgi
from cheroot.makefile import MakeFile, StreamWriter

from emulator import http_admission, http_bodies, http_connections, http_heads

# How long a worker waits for the next request on its connection before handing the connection
# back to the selector. An SDK's next call comes within about a millisecond of the last
# response; a client that is done costs one idle wait of this length.
NEXT_REQUEST_WAIT_MS = 2
# While other connections wait in the queue, a worker still serves the next request of its own
# connection for this long, as long as that request is already there: handing a connection back
# to the selector and taking another from the queue costs more syscalls and thread switches
# (each one a contended hand-over of the GIL) than serving a request. Never waiting keeps the
# worker from idling while others are queued; the slice bounds how long they wait.
HOLD_SLICE_S = 0.02
# environ key: fn() -> (socket, bytes already read past the request) for an upgraded connection.
TAKE_SOCKET = "ecs_emulator.take_socket"
# environ key: whether the connection was made on this host, as told once when it arrived
# (access/local_users.py), so no request asks again; absent where it was not told.
THIS_HOST = "ecs_emulator.this_host"
# Writes at least this large skip cheroot's write buffer (see _Writer).
DIRECT_WRITE_MIN = 64 * 1024
# A body the application left unread is skipped up to this size so the connection can stay
# open; a longer one closes the connection instead (cheroot would read it whole into memory).
SKIP_UNREAD_MAX = 64 * 1024
_DIGITS = re.compile(rb"[0-9]+")


class _Reader(io.BufferedReader):
    """A socket reader in C, with the two extras cheroot asks of its own."""

    def __init__(self, sock, mode="rb", bufsize=io.DEFAULT_BUFFER_SIZE):
        super().__init__(http_connections.HeadFirstIO(sock, mode), bufsize)
        self._sock = sock
        self.bytes_read = 0  # cheroot's statistics read it; they are off unless turned on

    def has_data(self) -> bool:
        """Whether a request's bytes are at hand: buffered, or on the socket now."""
        timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        try:
            return bool(self.peek(1))  # reads the socket only when nothing is buffered
        except OSError:
            return False
        finally:
            self._sock.settimeout(timeout)


class _Writer(StreamWriter):
    """cheroot's writer, which can hold writes back to send them together, and which sends a
    large write straight to the socket: cheroot's buffer (pure Python) copies what is left of a
    write after each partial send, several copies of each 1 MiB block of a file."""

    _held: bytearray | None = None

    def __init__(self, sock, mode="w", bufsize=io.DEFAULT_BUFFER_SIZE):
        super().__init__(sock, mode, bufsize)
        self._sock = sock

    def hold(self) -> None:
        self._held = bytearray()

    def release(self) -> None:
        held, self._held = self._held, None
        if held:
            self._send(held)

    def write(self, data, *args, **kwargs):
        if self._held is not None:
            self._held += data
            return len(data)
        return self._send(data)

    def _send(self, data) -> int:
        if not self._write_buf and len(data) < DIRECT_WRITE_MIN:
            # Most responses fit the socket's buffer: one write(2). A socket with a timeout is
            # non-blocking underneath, and its send() would poll(2) before sending: one more
            # syscall, and one more point where the worker lets go of the GIL and must wait
            # for it behind the other workers.
            self._checkClosed()
            try:
                sent = os.write(self._sock.fileno(), data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            self.bytes_written += sent
            if sent == len(data):
                return sent
            return sent + super().write(bytes(data[sent:]))
        if len(data) < DIRECT_WRITE_MIN or self._write_buf:
            return super().write(bytes(data))
        self._checkClosed()
        self._sock.sendall(data)
        self.bytes_written += len(data)
        return len(data)


def _make_file(sock, mode="r", bufsize=io.DEFAULT_BUFFER_SIZE):
    return _Reader(sock, mode, bufsize) if "r" in mode else _Writer(sock, mode, bufsize)


class _Request(cheroot_server.HTTPRequest):
    header_reader = http_heads.HeaderReader()  # refuses a second Content-Length

    def parse_request(self):
        http_heads.parse_request(self)

    def read_request_headers(self) -> bool:
        if not super().read_request_headers():
            return False
        length = self.inheaders.get(b"Content-Length")
        if length is not None and not _DIGITS.fullmatch(length):
            return self._refuse("Malformed Content-Length Header.")
        if b"Transfer-Encoding" in self.inheaders:
            if length is not None:
                return self._refuse("Content-Length and Transfer-Encoding together are "
                                    "ambiguous.")
            if self.response_protocol != "HTTP/1.1":
                # cheroot ignores it below 1.1 and reads no body: the chunks would be parsed
                # as the next request on a kept connection (RFC 9112 §6.1: treat as faulty).
                return self._refuse("Transfer-Encoding is refused on an HTTP/1.0 request.")
        return True

    def _refuse(self, message: str) -> bool:
        self.close_connection = True
        self.simple_response("400 Bad Request", message)
        return False

    def simple_response(self, status, msg=""):
        """cheroot's short answer (its refusals, 408s, our 400s), with the Server header every
        other answer of ours carries (the command line tells the emulator's answers by it), and
        Connection: close whenever the connection closes after it (RFC 9112 §9.6)."""
        status = str(status)
        if not self.ready:  # a refusal while the head is read: cheroot closes after it
            self.close_connection = True
        if status[:3] in ("413", "414"):
            self.close_connection = True
            if self.response_protocol != "HTTP/1.1":  # HTTP/1.0 has no 413/414 (as cheroot)
                status = "400 Bad Request"
        body = msg.encode("ISO-8859-1") if isinstance(msg, str) else msg
        head = (f"{self.server.protocol} {status}\r\nContent-Length: {len(body)}\r\n"
                f"Content-Type: text/plain\r\nServer: {self.server.server_name}\r\n")
        if self.close_connection:  # (an HTTP/1.0 client reads it the same)
            head += "Connection: close\r\n"
        try:
            self.conn.wfile.write(head.encode("ISO-8859-1") + b"\r\n" + body)
        except OSError as error:
            if error.args[0] not in cheroot_errors.socket_errors_to_ignore:
                raise

    def send_headers(self):
        if not self.close_connection:
            self._leave_body()
        http_heads.send_headers(self)

    def _leave_body(self) -> None:
        """Make sure cheroot will not read an unread body whole (its way of reaching the next
        request): skip a short rest here, or close the connection after the response."""
        if self.chunked_read:
            if not getattr(self.rfile, "finished", False):
                self.close_connection = True
            return
        remaining = getattr(self.rfile, "remaining", 0)
        if remaining > SKIP_UNREAD_MAX:
            self.close_connection = True
            return
        while remaining > 0:
            skipped = len(self.rfile.read(min(remaining, io.DEFAULT_BUFFER_SIZE)))
            if not skipped:
                break
            remaining -= skipped


class _Connection(cheroot_server.HTTPConnection):
    RequestHandlerClass = _Request
    _poller = None  # what _next_request_soon waits on

    def __init__(self, server, sock, makefile=MakeFile):
        # Plain TCP gets our reader and writer; a TLS adapter would bring its own makefile.
        super().__init__(server, sock, _make_file if makefile is MakeFile else makefile)

    def communicate(self) -> bool:
        keep_open = super().communicate()
        until = time.monotonic() + HOLD_SLICE_S
        while keep_open and self._next_request_soon(until):
            self.server.admission.serving()
            keep_open = super().communicate()
        return keep_open

    def _next_request_soon(self, until: float) -> bool:
        server = self.server
        # While another connection waits for a worker, only a request already there and only
        # within the slice (HOLD_SLICE_S): this one must not hold a thread for long that another
        # client is queued for.
        if not server.ready:
            return False
        # Nor while another worker serves (one let in beside a slow request): two workers that
        # each hold a connection trade the GIL at every syscall; back to one (http_admission.py).
        if server.admission.crowded():
            return False
        wait = NEXT_REQUEST_WAIT_MS
        if server.requests.qsize:
            if time.monotonic() > until:
                return False
            wait = 0
        # Bytes of a request sent right behind the last one may wait in our reader, unseen by
        # poll(); then the connection goes back to the selector after the wait (put() sees them).
        # An SDK sends a request's head and its body in two writes: once the head is in, the
        # body is waited for once more, as briefly.
        if wait:  # its slot free for others meanwhile (http_admission.py)
            server.admission.idle()
        poller = self._poller
        if poller is None:  # one per connection, not per request
            poller = self._poller = select.poll()
            poller.register(self.socket, select.POLLIN)
        for _ in range(2):
            if not poller.poll(wait):
                return False
            # Only a whole request is read on a worker; a partial one waits in the selector.
            state = http_connections.gather(self)
            if state != http_connections.WAIT or self.rfile.raw.wanted is None:
                return state == http_connections.READY
        return False


class _Gateway(wsgi.Gateway_10):
    def __init__(self, req):
        if req.chunked_read:  # before the environ is made of req.rfile
            req.rfile = http_bodies.ChunkedInput(req.conn.rfile, req.server.max_request_body_size)
        self._taken = False
        super().__init__(req)

    def get_environ(self):
        environ = http_heads.environ(self)
        environ["wsgi.file_wrapper"] = http_bodies.FileWrapper
        if isinstance(self.req.conn.rfile, _Reader):  # plain TCP, our reader
            environ[TAKE_SOCKET] = self._take_socket
        this_host = getattr(self.req.conn, "this_host", None)
        if this_host is not None:
            environ[THIS_HOST] = this_host
        return environ

    def start_response(self, status, headers, exc_info=None):
        return http_heads.start_response(self, status, headers, exc_info)

    def _take_socket(self):
        req, conn = self.req, self.req.conn
        self._taken = True
        req.close_connection = True
        conn.linger = True  # so its close() neither shuts the socket down nor closes it
        sock = conn.socket
        sock.setblocking(False)
        try:  # whatever the reader holds past the request (a client may not wait for our 101)
            pending = conn.rfile.peek(io.DEFAULT_BUFFER_SIZE) or b""
            conn.rfile.read(len(pending))
        except OSError:
            pending = b""
        finally:
            sock.settimeout(None)
        raw = conn.rfile.raw  # and what the selector read ahead (http_connections.py)
        pending += bytes(raw.ahead)
        raw.ahead.clear()
        return sock, pending

    def respond(self):
        """cheroot's, but a file from wsgi.file_wrapper goes out with sendfile(2), and a
        chunked body of malformed framing is answered 400 (cheroot's would be a 500)."""
        try:
            response = self.req.server.wsgi_app(self.env, self.start_response)
        except http_bodies.BadChunking:
            if self.req.sent_headers or self._taken:  # nothing left to answer with: close
                raise
            response = None
        if self._bad_chunking(response):
            return
        if self._taken:  # the application has the socket: no response goes out on it
            self.req.sent_headers = True  # (so cheroot sends none either)
            if hasattr(response, "close"):
                response.close()
            return
        try:
            if self._can_send_file(response):
                self._send_file(response)
                return
            try:
                for chunk in filter(None, response):
                    if not isinstance(chunk, bytes):
                        raise ValueError("WSGI Applications must yield bytes")
                    self.write(chunk)
            except http_bodies.BadChunking:
                # A body read lazily by the response's own iteration: still a 400 when no
                # header has gone out (else the connection closes on a cut-off answer).
                if not self._bad_chunking(None):
                    raise
                return
        finally:
            try:
                self.req.ensure_headers_sent()
            finally:  # a client gone before the headers: the response still closes (its slot)
                if hasattr(response, "close"):
                    response.close()

    def _bad_chunking(self, response) -> bool:
        """Answer 400 and close instead of `response` when the body's framing was refused and
        the application raised it (None) or made a 500 of it (Flask does); an answer of its own
        (the registry's BLOB_UPLOAD_INVALID) stands, and the unfinished body closes the
        connection after it (_Request._leave_body)."""
        req = self.req
        refused = getattr(req.rfile, "refused", None)
        if refused is None or req.sent_headers or self._taken:
            return False
        if response is not None and not (isinstance(req.status, bytes)
                                         and req.status.startswith(b"5")):
            return False
        if hasattr(response, "close"):
            response.close()
        req.close_connection = True
        req.simple_response("400 Bad Request", str(refused))
        req.sent_headers = True  # (so cheroot sends the application's headers after it)
        return True

    def _can_send_file(self, response) -> bool:
        plain = self.req.server.ssl_adapter is None and not self.req.chunked_write
        return (plain and isinstance(response, http_bodies.FileWrapper)
                and response.sendable(self.remaining_bytes_out))

    def _send_file(self, response: http_bodies.FileWrapper) -> None:
        self.req.ensure_headers_sent()  # cheroot's writer flushes every write
        length = self.remaining_bytes_out
        sent = response.send(self.req.conn.socket, length)
        self.remaining_bytes_out = length - sent
        if sent < length:  # the file ended early: only closing tells the client
            self.req.close_connection = True

    def write(self, chunk):
        wfile = self.req.conn.wfile
        if self.req.sent_headers or not isinstance(wfile, _Writer):
            return super().write(chunk)
        wfile.hold()  # the headers, which super().write() sends first, wait for the chunk
        try:
            return super().write(chunk)
        finally:
            wfile.release()


class Server(wsgi.Server):
    """cheroot's WSGI server with the changes above; the same arguments."""

    ConnectionClass = _Connection
    # Keeps connections while they wait for a request (a listener for containers brings its own
    # that admits a peer first: access/gate.py).
    ConnectionManagerClass = http_connections.ConnectionManager

    # Waiting connections hold no thread (http_connections.py), so any number may stay open.
    keep_alive_conn_limit = None
    max_request_header_size = http_connections.HEAD_LIMIT

    def __init__(self, *args, listening_socket=None, **kwargs):
        # The listen backlog: cheroot's default of 5 refuses a burst of new connections.
        kwargs.setdefault("request_queue_size", 128)
        super().__init__(*args, **kwargs)
        # A socket already listening (early_listener.py), taken by prepare() instead of binding.
        self._listening_socket = listening_socket
        self.gateway = _Gateway
        # Few workers serve at once (http_admission.py); the pool's threads start in prepare().
        self.admission = http_admission.AdmissionQueue()
        self.requests._queue = self.admission
        self.requests.get = self.admission.get

    def bind(self, family, type, proto=0):
        sock, self._listening_socket = self._listening_socket, None
        if sock is None:
            return super().bind(family, type, proto)
        self.socket = sock
        self.bind_addr = self.resolve_real_bind_addr(sock)
        return sock

    def prepare(self) -> None:
        super().prepare()
        cheroots = self._connections
        self._connections = self.ConnectionManagerClass(self)
        cheroots.close()  # its selector; the listening socket is the server's

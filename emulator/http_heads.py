"""Request heads in, WSGI environs out, response heads back: cheroot's own steps, with fewer Python
calls per request (emulator/http_server.py puts them in its request and gateway classes).

A small API call costs the server less CPU in its own work (shapes, state, JSON) than in cheroot's
per-request handling, and with one interpreter lock that CPU is the server's capacity
(scripts/bench/capacity.py). cheroot reads each header line in 256-byte pieces through a Python
wrapper, title-cases every header name, converts every name and value with a checking helper,
and formats the Date header anew each time. The same results come from fewer calls:

- a head whose every line ends in CRLF and which is whole in the reader's buffer (as a worker
  finds it: emulator/http_connections.py) is read with one call and split into its lines;
  otherwise a head line is read with one C readline, bounded by what the head limit still
  allows (a line past the limit is found as before, and answered the same);
- header names are transformed once per distinct spelling (a client sends the same dozen on
  every request), for the header dict and for the environ;
- the environ's keys that are the same for every request of a server are copied from one dict;
- the Date header is formatted once a second, and the response head made with one look-up set.

What a request may be and how each malformed one is answered stays cheroot's: the parsing is its
code with the per-call overhead taken out, and tests/test_hostile_http.py holds the answers. Where
cheroot let through what RFC 9112 says to refuse, it is refused here: whitespace before a colon,
a folded line, a bare CR inside a request line or header line (read line by line: a whole head
with a bare CR is left to that way).
"""

from __future__ import annotations

import email.utils
import io
import sys
import time

from emulator import cheroot_import  # noqa: F401  (before cheroot; see there)
from cheroot import errors, server as cheroot_server, wsgi
from cheroot._compat import bton

_CRLF = b"\r\n"
_HEAD_END = b"\r\n\r\n"
# X-Forwarded-For is a list too: a second one (each proxy may add its own) is joined to the
# first rather than put in its place (the front doors append the client's address to it).
_COMMA_SEPARATED = frozenset(cheroot_server.comma_separated_headers) | {b"X-Forwarded-For"}
# Distinct spellings of header names kept (a client sends the same few on every request); past
# this many the table is emptied and refilled: a hostile client can neither grow it without end
# nor fill it for good and leave everyone else's names transformed on every request.
_NAMES_KEPT = 512
_titled: dict[bytes, bytes] = {}  # a header name as sent -> as cheroot keys it
_environ_keys: dict[bytes, str] = {}  # a header name as keyed -> its environ key
_CONTENT_LENGTH = b"Content-Length"
BARE_CR = "A bare CR in a request line or header line."


def _refuse_bare_cr(line: bytes) -> None:
    """Raise BareCR when a CR stands anywhere but before the line's closing LF."""
    if line.count(b"\r") != line.endswith(b"\r\n"):
        raise BareCR(BARE_CR)


class BareCR(ValueError):
    """RFC 9112 §2.2: a bare CR must be refused (or replaced with SP) before anything else reads
    the message; a proxy in front of us may have taken it for the end of a line."""


class HeadReader(cheroot_server.SizeCheckWrapper):
    """cheroot's size-checked reader of a request head, reading a line with one C call: as much
    of it as the head limit still allows, and a byte more to tell that the limit is passed. A
    line given back (`unread`) is read again first."""

    _unread: bytes | None = None

    def unread(self, line: bytes) -> None:
        self._unread = line

    def readline(self, size=None, check_cr: bool = True):
        """A line; `check_cr=False` leaves the bare CR check to the caller (_plain_request_line:
        a line it knows has none)."""
        if self._unread is not None:
            line, self._unread = self._unread, None
            return line
        maxlen = self.maxlen
        if size is None:
            # (at least 1: a read that passed the limit has raised already)
            size = maxlen - self.bytes_read + 1 if maxlen else -1
        data = self.rfile.readline(size)
        self.bytes_read += len(data)
        if maxlen and self.bytes_read > maxlen:
            raise errors.MaxSizeExceeded
        if check_cr:
            _refuse_bare_cr(data)
        return data

    def buffered_lines(self) -> list[bytes] | None:
        """The header lines (without their CRLF), read at once, when the whole head is in the
        reader's buffer already (a worker only takes a connection whose head has arrived,
        emulator/http_connections.py), every line ends in CRLF, there is at least one, and the
        head limit is kept: one C call instead of a readline per line. None otherwise, with
        nothing read: the lines are then read one by one, and anything unusual answered as
        before."""
        rfile = self.rfile
        if self._unread is not None or not isinstance(rfile, io.BufferedReader):
            return None
        data = rfile.peek()
        # No header at all (the head ends where it starts: the first CRLF would end it, while a
        # find of CRLF CRLF could land in a request pipelined behind), or not all buffered: the
        # line by line way.
        if data[:2] == _CRLF:
            return None
        end = data.find(_HEAD_END)
        if end <= 0:
            return None
        size = end + len(_HEAD_END)
        if self.maxlen and self.bytes_read + size > self.maxlen:
            return None
        head = data[:end]
        # A line ending in a bare LF, or a bare CR inside one: the line by line way, which
        # refuses both.
        if head.count(b"\n") != head.count(_CRLF) or head.count(b"\r") != head.count(_CRLF):
            return None
        rfile.read(size)
        self.bytes_read += size
        return head.split(_CRLF)


class HeaderReader(cheroot_server.HeaderReader):
    """cheroot's header reader, remembering transformed names, and refusing a second
    Content-Length: two lengths are how one request is smuggled inside another. A name with an
    underscore is dropped, whitespace around a name or a folded line refused (see _title)."""

    def __call__(self, rfile, hdict=None):
        if hdict is None:
            hdict = {}
        lines = rfile.buffered_lines() if rfile.__class__ is HeadReader else None
        for line in _lines(rfile) if lines is None else lines:
            try:
                k, v = line.split(b":", 1)
            except ValueError:
                raise ValueError("Illegal header line.") from None
            titled = _titled.get(k)
            if titled is None:
                titled = _title(k)
                if titled is None:  # a name with an underscore: dropped, as cheroot's
                    continue  # DropUnderscoreHeaderReader and nginx drop it
                if len(_titled) >= _NAMES_KEPT:
                    _titled.clear()
                _titled[k] = titled
            v = v.strip()
            k = titled
            if k in _COMMA_SEPARATED:
                existing = hdict.get(k)
                if existing:
                    v = b", ".join((existing, v))
            if k == _CONTENT_LENGTH and k in hdict:
                raise ValueError("More than one Content-Length header.")
            hdict[k] = v
        return hdict


def _lines(rfile):
    """The head's lines read one by one, each without its CRLF."""
    readline = rfile.readline
    while True:
        line = readline()
        if not line:
            raise ValueError("Illegal end of headers.")
        if line == _CRLF:
            return
        if not line.endswith(_CRLF):
            raise ValueError("HTTP requires CRLF terminators")
        yield line[:-2]


def _title(name: bytes) -> bytes | None:
    """A header name as cheroot keys it; None for a name to drop (an underscore in it, but for
    S3's user metadata). A name with whitespace around it, or a line that begins with it
    (obs-fold, RFC 9112 §5.2), is refused: whitespace before the colon must be answered 400
    (§5.1), and a folded line would join a header's value with what a proxy in front of us may
    have read as another header."""
    if not name or name[:1] in _WHITESPACE or name[-1:] in _WHITESPACE:
        raise ValueError("Illegal header line.")
    if b"_" in name and not name.lower().startswith(b"x-amz-meta-"):
        # X_Forwarded and X-Forwarded would both be HTTP_X_FORWARDED in the environ, and
        # Content_Length would overwrite CONTENT_LENGTH. S3's user metadata keeps its names
        # (Metadata={"my_key": ...}): dropped, the value would be lost; kept, WSGI's environ
        # gives it to moto as my-key, and a collision stays within the caller's metadata.
        return None
    return name.title()


_WHITESPACE = (b" ", b"\t")


# Request lines that read_request_line would take apart to the same values every time: what an
# AWS SDK sends to a JSON or query API (its path is "/"). Any other line goes through cheroot.
_PLAIN_LINES = {f"{method} / HTTP/1.1\r\n".encode(): method.encode()
                for method in ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH")}


def parse_request(req) -> None:
    """cheroot's HTTPRequest.parse_request, with HeadReader under it and a request line of
    _PLAIN_LINES taken without urlsplit and unquoting."""
    req.rfile = HeadReader(req.conn.rfile, req.server.max_request_header_size)
    try:
        success = _plain_request_line(req) or req.read_request_line()
    except errors.MaxSizeExceeded:
        req.simple_response(
            "414 Request-URI Too Long",
            "The Request-URI sent with the request exceeds the maximum allowed bytes.")
        return
    except BareCR as refused:  # (in a header line, cheroot answers the ValueError the same)
        req.close_connection = True  # (as it would be: said in the answer)
        req.simple_response("400 Bad Request", str(refused))
        return
    if not success:
        return
    try:
        success = req.read_request_headers()
    except errors.MaxSizeExceeded:
        req.simple_response(
            "413 Request Entity Too Large",
            "The headers sent with the request exceed the maximum allowed bytes.")
        return
    if success:
        req.ready = True


def _plain_request_line(req) -> bool:
    """Whether the request line was one of _PLAIN_LINES, set as read_request_line sets it; any
    other is given back to the reader for read_request_line."""
    line = req.rfile.readline(check_cr=False)
    method = _PLAIN_LINES.get(line)
    if method is None or req.server.protocol != "HTTP/1.1":
        _refuse_bare_cr(line)
        req.rfile.unread(line)
        return False
    req.started_request = True
    req.uri = req.path = b"/"
    req.method = method
    req.authority = req.qs = b""
    req.request_protocol = b"HTTP/1.1"
    req.response_protocol = "HTTP/1.1"
    return True


def environ(gateway) -> dict:
    """cheroot's Gateway_10.get_environ: the same keys and values."""
    req = gateway.req
    conn = req.conn
    server = req.server
    if isinstance(server.bind_addr, str):  # a Unix socket, with peer credentials: cheroot's
        return wsgi.Gateway_10.get_environ(gateway)
    env = _fixed(server, gateway.version).copy()
    env["PATH_INFO"] = req.path.decode("ISO-8859-1")  # (as cheroot's bton: one call fewer)
    env["QUERY_STRING"] = req.qs.decode("ISO-8859-1")
    env["REMOTE_ADDR"] = conn.remote_addr or ""
    env["REMOTE_PORT"] = str(conn.remote_port or "")
    env["REQUEST_METHOD"] = req.method.decode("ISO-8859-1")
    env["REQUEST_URI"] = req.uri.decode("ISO-8859-1")
    env["SERVER_PROTOCOL"] = req.request_protocol.decode("ISO-8859-1")
    env["wsgi.errors"] = sys.stderr  # (looked up each time: a test may have replaced it)
    env["wsgi.input"] = req.rfile
    env["wsgi.input_terminated"] = bool(req.chunked_read)
    env["wsgi.url_scheme"] = req.scheme.decode("ISO-8859-1")
    for name, value in req.inheaders.items():
        key = _environ_keys.get(name)
        if key is None:
            key = "HTTP_" + bton(name).upper().replace("-", "_")
            if len(_environ_keys) >= _NAMES_KEPT:
                _environ_keys.clear()
            _environ_keys[name] = key
        env[key] = value.decode("ISO-8859-1")
    _content_keys(env)
    if conn.ssl_env:
        env.update(conn.ssl_env)
    return env


def _fixed(server, version) -> dict:
    """The environ's keys that are the same for every request a server serves (its protocol,
    names and port are set before it serves), made once per server: copying them costs less
    than setting each anew."""
    fixed = server.__dict__.get("_environ_fixed")
    if fixed is None:
        fixed = server.__dict__["_environ_fixed"] = {
            "ACTUAL_SERVER_PROTOCOL": server.protocol,
            "SCRIPT_NAME": "",
            "SERVER_NAME": server.server_name,
            "SERVER_SOFTWARE": server.software,
            "wsgi.multiprocess": False,
            "wsgi.multithread": True,
            "wsgi.run_once": False,
            "wsgi.version": version,
            "SERVER_PORT": str(server.bind_addr[1]),
        }
    return fixed


def _content_keys(env: dict) -> None:
    content_type = env.pop("HTTP_CONTENT_TYPE", None)
    if content_type is not None:
        env["CONTENT_TYPE"] = content_type
    length = env.pop("HTTP_CONTENT_LENGTH", None)
    if length is not None:
        env["CONTENT_LENGTH"] = length


def start_response(gateway, status, headers, exc_info=None):
    """cheroot's Gateway.start_response: the same checks, each header encoded in one call."""
    if gateway.started_response and not exc_info:
        raise RuntimeError("WSGI start_response called a second time with no exc_info.")
    gateway.started_response = True
    req = gateway.req
    if req.sent_headers:
        raise exc_info[1]
    req.status = gateway._encode_status(status)
    out = req.outheaders
    for k, v in headers:
        if not isinstance(k, str):
            raise TypeError(f"WSGI response header key {k!r} is not of type str.")
        if not isinstance(v, str):
            raise TypeError(f"WSGI response header value {v!r} is not of type str.")
        if k.lower() == "content-length":
            gateway.remaining_bytes_out = int(v)
        out.append((k.encode("ISO-8859-1"), v.encode("ISO-8859-1")))
    return gateway.write


_date = (0, b"")  # the second last formatted, and its Date header value


def send_headers(req) -> None:
    """cheroot's HTTPRequest.send_headers: the same headers added on the same conditions, the
    names looked up in one set, the Date formatted once a second."""
    out = req.outheaders
    keys = {key.lower() for key, _ in out}
    status = int(req.status[:3])
    if status == 413:  # Request Entity Too Large: close, to avoid reading garbage
        req.close_connection = True
    elif b"content-length" not in keys and not (status < 200 or status in (204, 205, 304)):
        if req.response_protocol == "HTTP/1.1" and req.method != b"HEAD":
            req.chunked_write = True
            out.append((b"Transfer-Encoding", b"chunked"))
        else:  # closing tells the length
            req.close_connection = True
    if not req.close_connection:  # unless the connection manager has no room for it
        req.close_connection = not req.server.can_add_keepalive_connection
    if b"connection" not in keys:
        if req.response_protocol == "HTTP/1.1":
            if req.close_connection:
                out.append((b"Connection", b"close"))
        elif not req.close_connection:
            out.append((b"Connection", b"Keep-Alive"))
    if (b"Connection", b"Keep-Alive") in out:
        out.append((b"Keep-Alive", f"timeout={req.server.timeout}".encode("ISO-8859-1")))
    if not req.close_connection and not req.chunked_read:
        remaining = getattr(req.rfile, "remaining", 0)
        if remaining > 0:  # the rest of the request's body, for the next request's sake
            req.rfile.read(remaining)
    if b"date" not in keys:
        out.append((b"Date", _date_now()))
    if b"server" not in keys:
        out.append((b"Server", req.server.server_name.encode("ISO-8859-1")))
    head = [req.server.protocol.encode("ascii") + b" " + req.status + _CRLF]
    head += [key + b": " + value + _CRLF for key, value in out]
    head.append(_CRLF)
    req.conn.wfile.write(b"".join(head))


def _date_now() -> bytes:
    global _date
    now = int(time.time())
    second, value = _date
    if second != now:
        value = email.utils.formatdate(now, usegmt=True).encode("ISO-8859-1")
        _date = (now, value)
    return value

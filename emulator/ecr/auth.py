"""Authorization tokens: what GetAuthorizationToken issues and the registry accepts.

A token is the caller's account, IAM principal (when known; pull-time exclusions need it) and an
expiry, signed with the emulator's key (kept across resets), so no token needs to be stored and a
`docker login` stays good for its 12 hours. As on AWS, a token opens its own account's registry
(every region: Docker keeps one credential per host, and all our registries share one host);
another account's repository only where that repository's policy grants the token's account the
action (emulator/ecr/hooks.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import time

TOKEN_LIFETIME = 12 * 3600  # as ECR's
USER = "AWS"


def issue(key: bytes, account: str, now: float | None = None,
          principal: str | None = None) -> tuple[str, dt.datetime]:
    """(authorizationToken as the API answers it: base64 of "AWS:<password>", its expiry)."""
    expires = int((now or time.time()) + TOKEN_LIFETIME)
    payload = f"{account}:{principal}:{expires}" if principal else f"{account}:{expires}"
    password = _b64(payload.encode()) + "." + _signature(key, payload)
    token = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return token, dt.datetime.fromtimestamp(expires, tz=dt.timezone.utc)


def docker_credentials(key: bytes, account: str,
                       principal: str | None = None) -> tuple[str, str]:
    """(username, password) for pulling from our registry, e.g. by the ECS runtime."""
    token, _ = issue(key, account, principal=principal)
    user, _, password = base64.b64decode(token).decode().partition(":")
    return user, password


def authorizes(key: bytes, authorization: str | None, now: float | None = None) -> bool:
    """Whether an Authorization header carries Basic credentials "AWS:<a token we issued>" that
    have not expired."""
    payload = _valid_payload(key, authorization, now)
    return payload is not None


def account_of(key: bytes, authorization: str | None, now: float | None = None) -> str | None:
    """The account whose token the Authorization header carries; None unless it is a token we
    issued and it has not expired."""
    payload = _valid_payload(key, authorization, now)
    return payload.split(":", 1)[0] if payload is not None else None


def principal_in(key: bytes, authorization: str | None) -> str | None:
    """The IAM principal a valid token was issued to, None if it names none."""
    payload = _valid_payload(key, authorization, None)
    if payload is None:
        return None
    parts = payload.split(":")
    return ":".join(parts[1:-1]) or None


def _valid_payload(key: bytes, authorization: str | None, now: float | None) -> str | None:
    scheme, _, credentials = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
        encoded, _, signature = password.partition(".")
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        expires = int(payload.rsplit(":", 1)[1])
    except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
        return None
    if user != USER or not hmac.compare_digest(signature, _signature(key, payload)):
        return None
    return payload if expires > (now or time.time()) else None


def _signature(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")

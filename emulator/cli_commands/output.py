"""What the client commands print: progress lines in the ECS CLI's form on stderr
(`INFO[0003] Created cluster   cluster=tutorial region=us-east-1`), tables and ids on stdout."""

from __future__ import annotations

import re
import sys
import time

_STARTED = time.monotonic()
_PLAIN = re.compile(r"^[A-Za-z0-9\-._/@^+:]+$")


def info(message: str, **fields) -> None:
    _line("INFO", message, fields)


def warn(message: str, **fields) -> None:
    _line("WARN", message, fields)


def error(message: str, **fields) -> None:
    _line("ERRO", message, fields)


def _line(level: str, message: str, fields: dict) -> None:
    elapsed = int(time.monotonic() - _STARTED)
    pairs = " ".join(f"{key}={_value(value)}" for key, value in sorted(fields.items()))
    text = f"{level}[{elapsed:04d}] {message:<44} {pairs}".rstrip()
    print(text, file=sys.stderr, flush=True)


def _value(value) -> str:
    text = str(value)
    return text if _PLAIN.match(text) else '"' + text.replace('"', '\\"') + '"'


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Columns padded to their widest cell, as `docker ps` and `ecs-cli ps` print them."""
    widths = [max([len(h)] + [len(str(row[i])) for row in rows]) for i, h in enumerate(headers)]
    for row in [headers] + rows:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    sys.stdout.flush()


def ports_of(container: dict) -> str:
    """networkBindings as `docker ps` shows them: 127.0.0.1:32768->80/tcp."""
    return ", ".join(
        f"{b.get('bindIP', '0.0.0.0')}:{b.get('hostPort')}->{b.get('containerPort')}/"
        f"{b.get('protocol', 'tcp')}"
        for b in container.get("networkBindings") or [])


def definition_name(task_definition_arn: str) -> str:
    """family:revision from a task definition ARN."""
    return task_definition_arn.rsplit("/", 1)[-1]

"""Files only their owner may read (the control token, the ECS CLI's credentials): written 0600
from their first byte, whatever the umask (mkstemp), whole under another name and renamed, so no
other local user can open one for a moment and no reader sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, readable by this user only (its directory is the caller's)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""Whether a Docker Engine answers, asked cheaply and without keeping a client around."""

from __future__ import annotations


def docker_answers(timeout: float = 2.0) -> bool:
    try:
        import docker  # imported here: the SDK costs start-up time that ECS calls need not pay

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # any failure means: no engine we can use
        return False

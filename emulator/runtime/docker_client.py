"""The Docker SDK's client for an engine named as the docker CLI names it (DOCKER_HOST,
DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), with the engine's own CA trusted.

requests lets REQUESTS_CA_BUNDLE (set on many hosts and CI images) replace, on every call, the CA
the SDK set from DOCKER_CERT_PATH, so an engine behind TLS with its own CA failed verification
("unable to get local issuer certificate") wherever that variable is set, while the docker CLI
reached it. Here a CA path the client was given wins over the process's bundle.
"""

from __future__ import annotations


def from_env(environment: dict[str, str] | None = None, **kwargs):
    """docker.from_env(environment=..., **kwargs), with the fix above."""
    return _client_class().from_env(environment=environment, **kwargs)


_CLASS = None


def _client_class():
    global _CLASS
    if _CLASS is None:
        import docker

        class ApiClient(docker.APIClient):
            def merge_environment_settings(self, url, proxies, stream, verify, cert):
                settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
                if verify is None and self.verify is not True:
                    # the engine's CA (DOCKER_CERT_PATH), or no verification when TLS is asked
                    # without it: either way not the process's bundle
                    settings["verify"] = self.verify
                return settings

        class Client(docker.DockerClient):
            def __init__(self, *args, **kwargs):
                self.api = ApiClient(*args, **kwargs)

        _CLASS = Client
    return _CLASS

"""ECR's names for things, built and parsed in this one place: repository ARNs, and the URIs of our
registry (repositoryUri, proxyEndpoint, and the mapping of an AWS-style image URI to ours).

Our registry answers on the emulator's own port, so plain `docker` can use it with no DNS setup:
`127.0.0.1:<port>/<repo>` for the default account and region, and
`127.0.0.1:<port>/<account>/<region>/<repo>` for any other (the registry resolves both forms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulator.aws.context import partition_of
from emulator.config import Settings
from emulator.registry.names import ECR_REGISTRY, RepoRef, path_name

_REPOSITORY_ARN = re.compile(
    r"^arn:(aws|aws-cn|aws-us-gov):ecr:([a-z0-9-]+):(\d{12}):repository/(.+)$"
)
# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repo>[:tag|@digest]
_AWS_IMAGE = re.compile(rf"^{ECR_REGISTRY}/([^:@]+)(?::([^@]+))?(?:@(.+))?$")
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "")


@dataclass(frozen=True)
class RepositoryArn:
    """An ECR repository ARN taken apart."""
    partition: str
    region: str
    account: str
    name: str


def repository(account: str, region: str, name: str) -> str:
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{name}"


def parse_repository(arn: str) -> RepositoryArn | None:
    match = _REPOSITORY_ARN.match(arn)
    return RepositoryArn(*match.groups()) if match else None


def registry_host(host_header: str, settings: Settings) -> str:
    """`host:port` of our registry as a client should name it.

    The port is the one the client reached us on (the Host header), else the configured one. A
    loopback name becomes 127.0.0.1, which Docker trusts over plain HTTP without configuration;
    any other name (a Compose service, say) is kept, since that is how the client reaches us.
    """
    host, port = _split_host(host_header)
    if not port:
        port = str(settings.port)
    if host.lower() in _LOOPBACK_NAMES:
        host = "127.0.0.1"
    return f"{host}:{port}"


def repository_uri(host: str, account: str, region: str, name: str, settings: Settings) -> str:
    """host/path of a repository; the registry's path_name decides the path (bare for the
    default account and region), so the two always agree."""
    path = path_name(RepoRef(account, region, name), settings.default_account_id,
                     settings.default_region)
    return f"{host}/{path}"


def proxy_endpoint(host: str) -> str:
    return f"http://{host}"


@dataclass(frozen=True)
class AwsImageRef:
    """An image named by an ECR registry host: account, region, repository, tag or digest."""
    account: str
    region: str
    repository: str
    tag: str | None
    digest: str | None


def parse_aws_image(uri: str) -> AwsImageRef | None:
    """`123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1` -> its parts (None if not ECR's)."""
    match = _AWS_IMAGE.match(uri)
    return AwsImageRef(*match.groups()) if match else None


def local_reference(uri: str, host: str, settings: Settings) -> str | None:
    """An ECR image URI as our registry serves it, for `docker pull` without AWS's DNS:
    `<account>.dkr.ecr.<region>.amazonaws.com/app:1` -> `127.0.0.1:4566/app:1` (default account
    and region) or `127.0.0.1:4566/<account>/<region>/app:1`. None if `uri` is not ECR's."""
    ref = parse_aws_image(uri)
    if ref is None:
        return None
    location = repository_uri(host, ref.account, ref.region, ref.repository, settings)
    return location + (f":{ref.tag}" if ref.tag else "") + (f"@{ref.digest}" if ref.digest else "")


def _split_host(host_header: str) -> tuple[str, str]:
    header = (host_header or "").strip()
    if header.startswith("["):  # [::1]:4566
        host, _, rest = header.partition("]")
        return host + "]", rest.lstrip(":")
    if header.count(":") == 1:
        host, _, port = header.partition(":")
        return host, port
    return header, ""

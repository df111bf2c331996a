"""Small pure parts of ECR: authorization tokens, registry host and image URI mapping, tag
immutability with exclusion filters, repository names."""

import base64
import time
from types import SimpleNamespace

import pytest

from emulator.config import Settings
from emulator.ecr import archive, arns, auth, names, repositories
from emulator.ecr.model import ImageRecord, Repository

SETTINGS = Settings(port=4566)


def basic(token: str) -> str:
    return f"Basic {token}"


def test_tokens_are_ours_and_expire():
    token, expires = auth.issue(b"key", "123456789012", now=1000.0)
    assert expires.timestamp() == 1000 + auth.TOKEN_LIFETIME
    assert auth.authorizes(b"key", basic(token), now=1001.0)
    assert not auth.authorizes(b"key", basic(token), now=1000.0 + auth.TOKEN_LIFETIME + 1)
    assert not auth.authorizes(b"other key", basic(token), now=1001.0)
    user, _, password = base64.b64decode(token).decode().partition(":")
    forged = base64.b64encode(f"{user}:{password[:-1]}0".encode()).decode()
    assert not auth.authorizes(b"key", basic(forged), now=1001.0)
    wrong_user = base64.b64encode(f"admin:{password}".encode()).decode()
    assert not auth.authorizes(b"key", basic(wrong_user), now=1001.0)
    for header in (None, "", "Bearer x", "Basic !!!", basic(base64.b64encode(b"AWS:").decode())):
        assert not auth.authorizes(b"key", header, now=time.time())


def test_tokens_carry_the_principal_they_were_issued_to():
    arn = "arn:aws:iam::123456789012:user/ci"
    token, _ = auth.issue(b"key", "123456789012", principal=arn)
    assert auth.authorizes(b"key", basic(token))
    assert auth.principal_in(b"key", basic(token)) == arn
    assert auth.principal_in(b"key", basic(auth.issue(b"key", "123456789012")[0])) is None
    assert auth.principal_in(b"other key", basic(token)) is None


def test_an_excluded_role_covers_its_sessions():
    store = SimpleNamespace(pull_time_exclusions={"arn:aws:iam::123456789012:role/ops/deployer": 0})
    record = ImageRecord(digest="sha256:x")
    archive.record_pull(store, record, "arn:aws:sts::123456789012:assumed-role/deployer/s1")
    assert record.last_pull is None
    archive.record_pull(store, record, "arn:aws:sts::123456789012:assumed-role/other/s1")
    assert record.last_pull is not None


@pytest.mark.parametrize("header, expected", [
    ("127.0.0.1:4566", "127.0.0.1:4566"),
    ("localhost:5000", "127.0.0.1:5000"),
    ("", "127.0.0.1:4566"),
    ("emulator:4566", "emulator:4566"),
    ("[::1]:4566", "127.0.0.1:4566"),
])
def test_registry_host(header, expected):
    assert arns.registry_host(header, SETTINGS) == expected


def test_local_reference():
    host = "127.0.0.1:4566"
    assert arns.local_reference("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1", host,
                                SETTINGS) == "127.0.0.1:4566/app:1"
    assert arns.local_reference("111122223333.dkr.ecr.eu-west-1.amazonaws.com/a/b@sha256:ab", host,
                                SETTINGS) == "127.0.0.1:4566/111122223333/eu-west-1/a/b@sha256:ab"
    assert arns.local_reference("public.ecr.aws/nginx/nginx:1", host, SETTINGS) is None


@pytest.mark.parametrize("host, is_ecr", [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com", True),
    ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", True),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", True),
    ("12345678901.dkr.ecr.us-east-1.amazonaws.com", False),  # 11 digits
    ("123456789012.dkr.ecr.us-east-1.example.com", False),
    ("public.ecr.aws", False),
])
def test_ecr_registry_host_names_are_known_alike_everywhere(host, is_ecr):
    """The image URI mapping, the task definition's ECR check, the pull through cache's ECR
    upstream and the browser rules' names of this host read one spelling of ECR's hosts."""
    from emulator.access import browsers
    from emulator.ecr import pull_through
    from emulator.ecr.errors import UnsupportedUpstreamRegistryException
    from emulator.ecs.task_definition_compat import ECR_IMAGE

    ref = arns.parse_aws_image(f"{host}/team/app:1")
    assert (ref is not None) == is_ecr
    if is_ecr:
        assert (ref.account, ref.region, ref.repository, ref.tag) == (
            "123456789012", host.split(".")[3], "team/app", "1")
    assert bool(ECR_IMAGE.match(f"{host}/app:1")) == is_ecr
    assert bool(browsers._ECR_REGISTRY.fullmatch(host)) == is_ecr
    try:
        upstream = pull_through._upstream_of(f"https://{host}", "ecr")
    except UnsupportedUpstreamRegistryException:
        upstream = None
    assert (upstream == "ecr") == is_ecr


@pytest.mark.parametrize("mode, filters, tag, immutable", [
    ("MUTABLE", None, "v1", False),
    ("IMMUTABLE", None, "v1", True),
    ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "latest"}], "latest", False),
    ("IMMUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "dev-*"}], "v1", True),
    ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "release-*"}], "release-1", True),
    ("MUTABLE_WITH_EXCLUSION", [{"filterType": "WILDCARD", "filter": "release-*"}], "dev", False),
])
def test_tag_immutability(mode, filters, tag, immutable):
    repository = Repository(name="r1", arn="arn", registry_id="123456789012",
                            image_tag_mutability=mode, mutability_exclusion_filters=filters)
    assert repositories.tag_is_immutable(repository, tag) is immutable


def test_wildcards_match_only_stars():
    assert names.wildcard_match("prod-1", "prod*")
    assert names.wildcard_match("a.b", "a.b") and not names.wildcard_match("axb", "a.b")
    assert not names.wildcard_match("xprod", "prod*")
    assert names.wildcard_match("x[1]", "x[1]")

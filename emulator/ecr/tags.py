"""Tags of repositories (ECR tags nothing else): validation, merge, and finding the repository an
ARN names."""

from __future__ import annotations

from emulator.ecr import arns
from emulator.ecr.errors import (
    InvalidParameterException,
    InvalidTagParameterException,
    TooManyTagsException,
)
from emulator.ecr.model import Repository

MAX_TAGS = 50


def validate(tags: list[dict]) -> None:
    for tag in tags:
        key, value = tag["Key"], tag["Value"]
        if not 1 <= len(key) <= 128 or len(value) > 256:
            raise InvalidTagParameterException(
                "Tag keys can have at most 128 characters, and tag values at most 256."
            )
        if key.lower().startswith("aws:"):
            raise InvalidTagParameterException(
                "Tag keys with the prefix 'aws:' are reserved for AWS use."
            )
    if len({tag["Key"] for tag in tags}) > MAX_TAGS:
        raise TooManyTagsException(f"A repository can have at most {MAX_TAGS} tags.")


def merged(existing: list[dict], new: list[dict]) -> list[dict]:
    validate(new)
    values = {tag["Key"]: tag["Value"] for tag in existing}
    values.update({tag["Key"]: tag["Value"] for tag in new})
    result = [{"Key": key, "Value": value} for key, value in values.items()]
    if len(result) > MAX_TAGS:
        raise TooManyTagsException(f"A repository can have at most {MAX_TAGS} tags.")
    return result


def without(existing: list[dict], keys: list[str]) -> list[dict]:
    drop = set(keys)
    return [tag for tag in existing if tag["Key"] not in drop]


def repository_for(store, arn: str) -> Repository:
    parsed = arns.parse_repository(arn)
    if parsed is None:
        raise InvalidParameterException(
            f"Invalid parameter at 'resourceArn' failed to satisfy constraint: '{arn}' is not "
            "the ARN of an ECR repository"
        )
    if (parsed.account, parsed.region) != (store.account, store.region):
        raise InvalidParameterException(
            f"The ARN {arn} does not belong to account {store.account} in {store.region}."
        )
    return store.repository(parsed.name)

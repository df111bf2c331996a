"""What a template reads from elsewhere, answered as CloudFormation answers it: SSM parameter
types (the CDK's BootstrapVersion), dynamic references (`{{resolve:ssm:...}}`,
`{{resolve:secretsmanager:...}}`), and TemplateURLs at this emulator's own S3.

moto crashes (HTTP 500) on an SSM parameter that does not exist, passes dynamic references
through as literal text, and reads `http://127.0.0.1:4566/bucket/key` as a bucket named "127".
"""

from __future__ import annotations

import ipaddress
import json
import re
from urllib.parse import urlparse

from emulator.cloudformation import template_limits
from emulator.cloudformation.errors import validation_error

_DYNAMIC = re.compile(r"\{\{resolve:(ssm|ssm-secure|secretsmanager):([^}]+)\}\}")
_AWS_VIRTUAL_HOST = re.compile(r"^(?P<bucket>.+)\.s3[.-](?:[a-z0-9-]+\.)?amazonaws\.com$")


def wrap_parse_ssm_parameter(original):
    def parse_ssm_parameter(self, value, value_type):
        from moto.ssm.models import ssm_backends

        if ssm_backends[self._account_id][self._region_name].get_parameter(value) is None:
            raise validation_error(
                f"Unable to fetch parameters [{value}] from parameter store for this account.")
        return original(self, value, value_type)

    return parse_ssm_parameter


def wrap_clean_json(original):
    """Resolve dynamic references in the template's strings, where moto resolves the rest."""

    def clean_json(resource_json, resources_map):
        if isinstance(resource_json, str) and "{{resolve:" in resource_json:
            return _DYNAMIC.sub(lambda m: _resolve(m, resources_map), resource_json)
        return original(resource_json, resources_map)

    return clean_json


def _resolve(match: re.Match, resources_map) -> str:
    service, reference = match.group(1), match.group(2)
    account, region = resources_map._account_id, resources_map._region_name
    if service in ("ssm", "ssm-secure"):
        from moto.ssm.models import ssm_backends

        name, _, version = reference.partition(":")
        parameter = ssm_backends[account][region].get_parameter(
            f"{name}:{version}" if version else name)
        if parameter is None:
            raise validation_error(
                f"Unable to fetch parameters [{name}] from parameter store for this account.")
        return parameter.value
    from moto.secretsmanager.models import secretsmanager_backends

    # secret-id:SecretString:json-key:version-stage:version-id; the id may be an ARN (colons).
    parts = reference.split(":")
    if reference.startswith("arn:"):
        parts = [":".join(parts[:7])] + parts[7:]
    secret_id = parts[0]
    json_key = parts[2] if len(parts) > 2 else ""
    stage = (parts[3] if len(parts) > 3 else "") or None
    version_id = (parts[4] if len(parts) > 4 else "") or None
    try:
        value = secretsmanager_backends[account][region].get_secret_value(
            secret_id, version_id, stage)
    except Exception:
        raise validation_error(
            f"Secrets Manager can't find the specified secret: {secret_id}") from None
    text = value.get("SecretString") or ""
    if json_key:
        try:
            return str(json.loads(text)[json_key])
        except (ValueError, KeyError, TypeError):
            raise validation_error(
                f"Could not find a value associated with JSONKey in SecretString "
                f"of secret {secret_id}: {json_key}") from None
    return text


def bucket_and_key(template_url: str, request_host: str) -> tuple[str, str]:
    """(bucket, key) of a TemplateURL in any of S3's URL styles, ours included."""
    url = urlparse(template_url)
    if url.scheme == "s3":
        return url.netloc, url.path.lstrip("/")
    host = (url.hostname or "").lower()
    ours = (request_host or "").rsplit(":", 1)[0].lower()
    path = url.path.lstrip("/")
    if _is_path_style(host, ours):
        bucket, _, key = path.partition("/")
        return bucket, key
    match = _AWS_VIRTUAL_HOST.match(host)
    if match:
        return match.group("bucket"), path
    suffixes = [".s3.localhost", ".localhost"]
    if ours:
        suffixes = [f".s3.{ours}", f".{ours}"] + suffixes
    for suffix in suffixes:
        if host.endswith(suffix):
            return host[: -len(suffix)], path
    return host.split(".")[0], path


def _is_path_style(host: str, ours: str) -> bool:
    if host in ("localhost", ours) or host.startswith("s3.") or host.startswith("s3-"):
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return False


def template_from_url(template_url: str, account_id: str, partition: str) -> str:
    """Replaces moto's get_stack_from_s3_url: the template's text, or a ValidationError."""
    from moto.s3.models import s3_backends

    from emulator.aws.moto_bridge import MotoBridge

    current = MotoBridge.current()
    bucket, key = bucket_and_key(template_url, current.ctx.host if current else "")
    try:
        obj = s3_backends[account_id][partition].get_object(bucket, key)
    except Exception:
        obj = None
    if obj is None or not bucket or not key:
        raise validation_error(
            "S3 error: Access Denied For more information check "
            "http://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html")
    template_limits.check_url_template(obj.value)
    return obj.value.decode("utf-8")


def describe_stack_resources(self, stack_name, logical_resource_id):
    """moto's, without the crash on a resource it does not model (None in its map)."""
    stack = self.get_stack(stack_name)
    resources = [r for r in stack.stack_resources if r is not None and not isinstance(r, str)]
    if logical_resource_id is not None:
        resources = [r for r in resources
                     if getattr(r, "logical_resource_id", None) == logical_resource_id]
    return stack, resources

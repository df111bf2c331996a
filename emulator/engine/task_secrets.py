"""A container's `secrets` and `environmentFiles`, read from moto as the ECS agent reads them.

- secrets: from SSM Parameter Store (a parameter name, or its ARN in any region or account;
  SecureString decrypted) and Secrets Manager (the secret's ARN, optionally with the ECS selectors
  `arn:...:secret:name:json-key:version-stage:version-id`).
- environmentFiles: S3 objects (`arn:aws:s3:::bucket/key.env`), parsed as the agent parses them:
  `#` at the start of a line makes a comment, a line needs `=`, the name is what precedes the
  first `=`, and a line with an empty name or value is skipped. Within a file a later line wins;
  across files the first file wins; the container's `environment` wins over every file (the
  engine applies it last). Secrets win over files, as the agent merges them.

Failures stop the task before its containers exist (TaskFailedToStart), with ECS's reasons:
"ResourceInitializationError: unable to pull secrets or registry auth: ..." for secrets and
"ResourceInitializationError: failed to download env files: ..." for files. With
ECS_EMULATOR_ENFORCE_IAM the task's execution role must allow each read, as on ECS (the agent
reads with its credentials): ssm:GetParameters on the parameter, secretsmanager:GetSecretValue
on the secret, s3:GetObject on the file's object; else the same failures, AccessDenied. What
another account holds needs that account's consent too, as on AWS: a secret's resource policy
or a bucket's policy allowing the task's account; a parameter never (SSM shares parameters
across accounts only through RAM, which is not emulated).
"""

from __future__ import annotations

import json

from emulator.aws.context import partition_of
from emulator.engine.hooks import TaskHook, TaskSetupError
from emulator.engine.task_credentials import task_role_arn

SECRETS_FAILED = ("ResourceInitializationError: unable to pull secrets or registry auth: "
                  "execution resource retrieval failed: ")
FILES_FAILED = "ResourceInitializationError: failed to download env files: "


class SecretsAndEnvironmentFiles(TaskHook):
    def __init__(self, moto, enforce_iam: bool = False):
        self._moto = moto
        self._enforce_iam = enforce_iam  # ECS_EMULATOR_ENFORCE_IAM: the execution role decides

    def environment(self, store, task, container) -> dict[str, str]:
        definition = container.definition
        files = definition.get("environmentFiles") or []
        secrets = definition.get("secrets") or []
        environment: dict[str, str] = {}
        if files:
            environment.update(self._files(store, task, files))
        if secrets:
            environment.update(self._secrets(store, task, secrets))
        return environment

    # -- environment files --------------------------------------------------------------------

    def _files(self, store, task, files: list[dict]) -> dict[str, str]:
        if not task_role_arn(task, store.account, key="executionRoleArn"):
            raise TaskSetupError(FILES_FAILED + "environment file resource: unable to find "
                                 "execution role credentials")
        merged: dict[str, str] = {}
        for source in files:
            for name, value in parse_env_file(self._download(store, task,
                                                             source["value"])).items():
                merged.setdefault(name, value)  # the first file that names a variable wins
        return merged

    def _download(self, store, task, arn: str) -> str:
        bucket, key = parse_s3_arn(arn)
        if self._refusal(store, task, "s3:GetObject",
                         f"arn:{partition_of(store.region)}:s3:::{bucket}/{key}"):
            raise TaskSetupError(FILES_FAILED + _download_failure(
                bucket, key, "AccessDenied: Access Denied"))
        s3 = self._moto.backend("s3", store.account, partition_of(store.region))
        owner = _bucket_of(s3, bucket)
        if owner is not None and self._not_shared(
                store, task, "s3:GetObject", f"arn:{partition_of(store.region)}:s3:::{bucket}/{key}",
                owner.account_id, lambda: owner.policy):
            raise TaskSetupError(FILES_FAILED + _download_failure(
                bucket, key, "AccessDenied: Access Denied"))
        try:
            found = s3.get_object(bucket, key)
        except Exception as error:  # moto's MissingBucket and kin
            raise TaskSetupError(FILES_FAILED + _download_failure(bucket, key, error)) from None
        if found is None:
            raise TaskSetupError(FILES_FAILED + _download_failure(
                bucket, key, "NoSuchKey: The specified key does not exist."))
        return bytes(found.value).decode("utf-8", errors="replace")

    # -- secrets ------------------------------------------------------------------------------

    def _secrets(self, store, task, secrets: list[dict]) -> dict[str, str]:
        values, missing = {}, []
        for secret in secrets:
            reference = secret["valueFrom"]
            if _service_of(reference) == "secretsmanager":
                values[secret["name"]] = self._from_secrets_manager(store, task, reference)
                continue
            arn = parameter_arn(reference, store.account, store.region)
            refused = self._refusal(store, task, "ssm:GetParameters", arn) or \
                self._not_shared(store, task, "ssm:GetParameters", arn,
                                 (arn.split(":") + [""] * 5)[4], None)
            if refused:
                raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secrets from ssm: "
                                     "AccessDeniedException: " + refused)
            value = self._from_parameter_store(store, reference)
            if value is None:
                missing.append(reference)
            else:
                values[secret["name"]] = value
        if missing:
            # The agent asks for a container's parameters at once and names every one missing.
            raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secrets from ssm: "
                                 "invalid parameters: " + ",".join(missing))
        return values

    def _from_parameter_store(self, store, reference: str) -> str | None:
        account, region, names = parameter_names(reference, store.account, store.region)
        ssm = self._moto.backend("ssm", account, region)
        for name in names:
            try:
                parameter = ssm.get_parameter(name)
            except Exception:  # a version or label that does not exist
                parameter = None
            if parameter is not None:
                value = parameter.decrypt(parameter.value)  # plain for String and StringList
                return value if value is not None else parameter.value
        return None

    def _from_secrets_manager(self, store, task, reference: str) -> str:
        selector = SecretSelector.parse(reference)
        manager = self._moto.backend("secretsmanager", selector.account or store.account,
                                     selector.region or store.region)
        refused = self._not_shared(store, task, "secretsmanager:GetSecretValue",
                                   secret_arn(selector, store), selector.account or store.account,
                                   lambda: _secret_policy(manager, selector.secret_id))
        if refused:
            raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secret from asm: "
                                 "AccessDeniedException: " + refused)
        try:
            found = manager.get_secret_value(selector.secret_id, selector.version_id or None,
                                             selector.version_stage or None)
        except Exception as error:
            # A role that may not read it is told so, not whether it exists.
            refused = self._refusal(store, task, "secretsmanager:GetSecretValue",
                                    secret_arn(selector, store))
            raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secret from asm: " + (
                "AccessDeniedException: " + refused if refused else _aws_error(error))) from None
        refused = self._refusal(store, task, "secretsmanager:GetSecretValue", found["ARN"])
        if refused:
            # named as the task named it, as for a secret that is not there: the full ARN (its
            # random suffix) would tell that it is
            refused = refused.replace(found["ARN"], secret_arn(selector, store))
            raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secret from asm: "
                                 "AccessDeniedException: " + refused)
        text = found.get("SecretString") or ""  # the agent reads SecretString only
        if not selector.json_key:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if not isinstance(document, dict) or selector.json_key not in document:
            raise TaskSetupError(SECRETS_FAILED + "unable to retrieve secret from asm: retrieved "
                                 "secret from Secrets Manager did not contain json key "
                                 + selector.json_key)
        return _as_text(document[selector.json_key])

    def _not_shared(self, store, task, action: str, resource: str, owner: str,
                    policy_of) -> str | None:
        """With IAM enforced, why another account's `resource` is not the task's to read: its
        resource policy (`policy_of()`, the text; None: the resource has none) does not allow
        the task's account `action` on it. None for the task's own account's resources."""
        if not self._enforce_iam or not owner or owner == store.account:
            return None
        from emulator.ecr.policies import allows, denial

        policy = policy_of() if policy_of is not None else None
        if isinstance(policy, bytes):
            policy = policy.decode("utf-8", errors="replace")
        if allows(policy, store.account, (action,), resource):
            return None
        return denial(self._principal(store, task), action, resource)

    def _refusal(self, store, task, action: str, resource: str) -> str | None:
        """With IAM enforced, why the task's execution role may not do `action` on `resource`
        (AWS's words, as the agent's call with the role's credentials is answered)."""
        if not self._enforce_iam:
            return None
        from emulator.access import iam

        role = self._role(store, task)
        policies = iam.role_policies(self._moto, role) if role else None
        return iam.denial(policies or [], self._principal(store, task), action, resource)

    @staticmethod
    def _role(store, task) -> str:
        return task_role_arn(task, store.account, partition_of(store.region),
                             key="executionRoleArn") or ""

    def _principal(self, store, task) -> str:
        role = self._role(store, task)
        return (f"arn:{partition_of(store.region)}:sts::{role.split(':')[4]}:assumed-role/"
                f"{role.rsplit('/', 1)[-1]}/{task.id}" if role.count(":") >= 5
                else "the task (no execution role)")


def _secret_policy(manager, secret_id: str) -> str | None:
    """A secret's resource policy; None when it has none, or there is no such secret (a caller
    refused is not told which)."""
    try:
        return json.loads(manager.get_resource_policy(secret_id)).get("ResourcePolicy")
    except Exception:  # moto's SecretNotFoundException and kin
        return None


def _bucket_of(s3, bucket: str):
    """moto's bucket of that name, in any account (moto serves other accounts' buckets by
    name, as S3 does), or None."""
    try:
        return s3.get_bucket(bucket)
    except Exception:  # moto's MissingBucket: the download answers it
        return None


# -- parsing ------------------------------------------------------------------------------------

def parse_env_file(text: str) -> dict[str, str]:
    variables: dict[str, str] = {}
    for line in text.split("\n"):
        line = line.removesuffix("\r")  # Go's line scanner drops a CR before the newline
        if line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        if name and value:
            variables[name] = value
    return variables


def parse_s3_arn(arn: str) -> tuple[str, str]:
    """arn:aws:s3:::bucket/key -> (bucket, key)."""
    parts = arn.split(":", 5)
    bucket, _, key = parts[5].partition("/") if len(parts) == 6 else ("", "", "")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "s3" or not bucket or not key:
        raise TaskSetupError(FILES_FAILED + "unable to parse bucket and key from s3 ARN "
                             f"specified in environmentFile {arn}")
    return bucket, key


def parameter_names(reference: str, account: str, region: str) -> tuple[str, str, list[str]]:
    """(account, region, candidate names) of an SSM parameter given by name or ARN.

    An ARN's resource is "parameter/<name>" for a name without a leading slash and
    "parameter/<path>" for one with it ("/app/db" -> "parameter/app/db"), so a single-element
    name could be either."""
    if not reference.startswith("arn:"):
        return account, region, [reference]
    parts = reference.split(":", 5)
    if len(parts) != 6 or not parts[5].startswith("parameter/"):
        return account, region, [reference]
    name = parts[5][len("parameter/"):]
    base = name.split(":", 1)[0]
    candidates = ["/" + name] if "/" in base else [name, "/" + name]
    return parts[4] or account, parts[3] or region, candidates


def parameter_arn(reference: str, account: str, region: str) -> str:
    """The ARN IAM checks for an SSM parameter given by name or ARN: without a `:3` or
    `:label` selector (no parameter name has a ':'), as AWS authorizes the parameter itself."""
    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        if len(parts) == 6:
            return ":".join(parts[:5] + [parts[5].split(":", 1)[0]])
        return reference
    reference = reference.split(":", 1)[0]
    name = reference if reference.startswith("/") else "/" + reference
    return f"arn:{partition_of(region)}:ssm:{region}:{account}:parameter{name}"


def secret_arn(selector: "SecretSelector", store) -> str:
    """The ARN a secret is asked by (as given, or built from its name), for IAM's check before
    the secret is found."""
    if selector.secret_id.startswith("arn:"):
        return selector.secret_id
    return (f"arn:{partition_of(store.region)}:secretsmanager:{store.region}:{store.account}:"
            f"secret:{selector.secret_id}")


class SecretSelector:
    """arn:aws:secretsmanager:region:account:secret:name[:json-key[:version-stage[:version-id]]]"""

    def __init__(self, secret_id: str, account: str, region: str, json_key: str = "",
                 version_stage: str = "", version_id: str = ""):
        self.secret_id = secret_id
        self.account = account
        self.region = region
        self.json_key = json_key
        self.version_stage = version_stage
        self.version_id = version_id

    @classmethod
    def parse(cls, reference: str) -> "SecretSelector":
        parts = reference.split(":")
        if len(parts) < 7:
            return cls(reference, "", "")
        extra = (parts[7:] + ["", "", ""])[:3]
        return cls(":".join(parts[:7]), parts[4], parts[3], *extra)


def _service_of(reference: str) -> str:
    parts = reference.split(":")
    return parts[2] if reference.startswith("arn:") and len(parts) > 2 else "ssm"


def _aws_error(error) -> str:
    code = getattr(error, "error_type", None) or getattr(error, "code", None)
    code = code if isinstance(code, str) else None  # moto's REST errors keep the status in code
    message = getattr(error, "message", None) or str(error)
    return f"{code}: {message}" if code else message


def _download_failure(bucket: str, key: str, error) -> str:
    detail = error if isinstance(error, str) else _aws_error(error)
    return f"unable to download env file with key {key} from bucket {bucket}, error: {detail}"


def _as_text(value) -> str:
    """A JSON value as the agent prints it into the environment (Go's %v for scalars)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"))

"""ECR's account settings (GetAccountSetting, PutAccountSetting): stored per registry, with ECR's
defaults. REGISTRY_POLICY_SCOPE decides what a registry policy grants another account
(cross_account.py); the others change nothing: basic scans find only planted findings whatever
the scanner version."""

from __future__ import annotations

from emulator.ecr.errors import InvalidParameterException

# name -> (default, allowed values)
SETTINGS = {
    "BASIC_SCAN_TYPE_VERSION": ("AWS_NATIVE", ("AWS_NATIVE", "CLAIR")),
    "REGISTRY_POLICY_SCOPE": ("V2", ("V1", "V2")),
    "BLOB_MOUNTING": ("DISABLED", ("ENABLED", "DISABLED")),
}


def get(store, name: str) -> str:
    default, _ = _setting(name)
    return store.account_settings.get(name, default)


def put(store, name: str, value: str) -> str:
    _, allowed = _setting(name)
    if value not in allowed:
        raise InvalidParameterException(
            f"Invalid value '{value}' for the account setting {name}; use one of "
            f"{', '.join(allowed)}."
        )
    store.account_settings[name] = value
    return value


def _setting(name: str):
    setting = SETTINGS.get(name)
    if setting is None:
        raise InvalidParameterException(
            f"Invalid account setting name '{name}'; use one of {', '.join(SETTINGS)}."
        )
    return setting

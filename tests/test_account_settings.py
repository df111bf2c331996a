"""Account settings through boto3: AWS's defaults, account defaults, principal overrides."""

import pytest
from botocore.exceptions import ClientError

from api_shapes import load_service
from emulator.ecs.account_settings import SPECS

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/deployer"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def effective(ecs, **kwargs) -> dict:
    settings, token = [], None
    while True:
        page = ecs.list_account_settings(effectiveSettings=True, **kwargs,
                                         **({"nextToken": token} if token else {}))
        settings += page["settings"]
        token = page.get("nextToken")
        if not token:
            return {s["name"]: s for s in settings}


def test_every_setting_of_the_model_is_known():
    assert set(SPECS) == set(load_service("ecs").shapes["SettingName"]["enum"])


def test_dual_stack_ipv6_is_a_setting_though_the_models_enum_lacks_it(ecs):
    # The name member's documentation lists dualStackIPv6 and ECS accepts it; botocore's
    # SettingName enum does not have it (api_shapes/amendments.py).
    assert "dualStackIPv6" in SPECS
    listed = effective(ecs)["dualStackIPv6"]
    assert (listed["value"], listed["principalArn"], listed["type"]) == ("disabled", ROOT, "user")
    answered = ecs.put_account_setting_default(name="dualStackIPv6", value="enabled")["setting"]
    assert answered == {"name": "dualStackIPv6", "value": "enabled", "principalArn": ROOT,
                        "type": "user"}
    assert ecs.list_account_settings(name="dualStackIPv6")["settings"] == [answered]
    own = ecs.put_account_setting(name="dualStackIPv6", value="disabled",
                                  principalArn=ROLE)["setting"]
    assert own["principalArn"] == ROLE
    assert effective(ecs, principalArn=USER)["dualStackIPv6"]["value"] == "enabled"
    with pytest.raises(ClientError) as excinfo:
        ecs.put_account_setting(name="dualStackIPv6", value="on")
    assert error_code(excinfo) == "InvalidParameterException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_aws_defaults(ecs):
    settings = effective(ecs)
    assert set(settings) == set(SPECS)
    values = {name: s["value"] for name, s in settings.items()}
    assert values["serviceLongArnFormat"] == "enabled"
    assert values["taskLongArnFormat"] == "enabled"
    assert values["containerInstanceLongArnFormat"] == "enabled"
    assert values["awsvpcTrunking"] == "disabled"
    assert values["containerInsights"] == "disabled"
    assert values["tagResourceAuthorization"] == "on"
    assert values["fargateTaskRetirementWaitPeriod"] == "7"
    assert values["defaultLogDriverMode"] == "non-blocking"
    assert all(s["principalArn"] == ROOT for s in settings.values())
    assert settings["guardDutyActivate"]["type"] == "aws_managed"
    assert settings["containerInsights"]["type"] == "user"
    # Without effectiveSettings only what was set is listed: nothing yet.
    assert ecs.list_account_settings()["settings"] == []


def test_put_for_the_caller_sets_the_account_default(ecs):
    answered = ecs.put_account_setting(name="containerInsights", value="enhanced")["setting"]
    assert answered == {"name": "containerInsights", "value": "enhanced", "principalArn": ROOT,
                        "type": "user"}
    assert ecs.list_account_settings()["settings"] == [answered]
    # A role without its own setting sees the account's.
    assert effective(ecs, principalArn=ROLE)["containerInsights"]["value"] == "enhanced"


def test_put_default(ecs):
    answered = ecs.put_account_setting_default(name="awsvpcTrunking", value="enabled")["setting"]
    assert answered["principalArn"] == ROOT and answered["value"] == "enabled"
    assert effective(ecs)["awsvpcTrunking"]["value"] == "enabled"


def test_principal_setting_overrides_the_default(ecs):
    ecs.put_account_setting_default(name="containerInsights", value="enabled")
    own = ecs.put_account_setting(name="containerInsights", value="disabled",
                                  principalArn=ROLE)["setting"]
    assert own["principalArn"] == ROLE
    role_view = effective(ecs, principalArn=ROLE)["containerInsights"]
    assert (role_view["value"], role_view["principalArn"]) == ("disabled", ROLE)
    assert effective(ecs, principalArn=USER)["containerInsights"]["value"] == "enabled"
    assert effective(ecs)["containerInsights"]["value"] == "enabled"
    assert ecs.list_account_settings(principalArn=ROLE)["settings"] == [own]

    deleted = ecs.delete_account_setting(name="containerInsights", principalArn=ROLE)["setting"]
    assert (deleted["value"], deleted["principalArn"]) == ("disabled", ROLE)
    assert effective(ecs, principalArn=ROLE)["containerInsights"]["value"] == "enabled"
    assert ecs.list_account_settings(principalArn=ROLE)["settings"] == []


def test_delete_account_default_restores_aws_default(ecs):
    ecs.put_account_setting(name="tagResourceAuthorization", value="off")
    deleted = ecs.delete_account_setting(name="tagResourceAuthorization")["setting"]
    assert deleted["value"] == "off"
    assert effective(ecs)["tagResourceAuthorization"]["value"] == "on"


def test_filters_by_name_and_value(ecs):
    ecs.put_account_setting(name="containerInsights", value="enabled")
    ecs.put_account_setting(name="awsvpcTrunking", value="enabled")
    by_name = ecs.list_account_settings(name="awsvpcTrunking")["settings"]
    assert [s["name"] for s in by_name] == ["awsvpcTrunking"]
    by_value = ecs.list_account_settings(name="containerInsights", value="enabled",
                                         effectiveSettings=True)["settings"]
    assert [s["name"] for s in by_value] == ["containerInsights"]
    assert ecs.list_account_settings(name="containerInsights", value="disabled",
                                     effectiveSettings=True)["settings"] == []
    with pytest.raises(ClientError) as excinfo:
        ecs.list_account_settings(value="enabled")
    assert error_code(excinfo) == "InvalidParameterException"


def test_pages_of_at_most_ten(ecs):
    first = ecs.list_account_settings(effectiveSettings=True)
    assert len(first["settings"]) == 10 and first["nextToken"]
    small = ecs.list_account_settings(effectiveSettings=True, maxResults=3)
    assert len(small["settings"]) == 3
    assert [s["name"] for s in small["settings"]] == sorted(s["name"] for s in small["settings"])
    for bad in (0, 11):
        with pytest.raises(ClientError) as excinfo:
            ecs.list_account_settings(maxResults=bad)
        assert error_code(excinfo) == "InvalidParameterException"


@pytest.mark.parametrize("name, good, bad", [
    ("containerInsights", ["enabled", "disabled", "enhanced"], ["on", "Enabled"]),
    ("fargateTaskRetirementWaitPeriod", ["0", "7", "14"], ["3", "enabled"]),
    ("tagResourceAuthorization", ["on", "off"], ["enabled"]),
    ("awsvpcTrunking", ["enabled", "disabled"], ["on", "enhanced"]),
    ("defaultLogDriverMode", ["blocking", "non-blocking"], ["enabled"]),
    ("fargateEventWindows", ["enabled", "disabled"], ["off"]),
])
def test_value_validation(ecs, name, good, bad):
    for value in good:
        assert ecs.put_account_setting(name=name, value=value)["setting"]["value"] == value
        assert ecs.put_account_setting_default(name=name, value=value)["setting"]["value"] == value
    for value in bad:
        with pytest.raises(ClientError) as excinfo:
            ecs.put_account_setting(name=name, value=value)
        assert error_code(excinfo) == "InvalidParameterException"


def test_refusals(ecs):
    refused = [
        lambda: ecs.put_account_setting(name="guardDutyActivate", value="on"),
        lambda: ecs.put_account_setting_default(name="guardDutyActivate", value="on"),
        lambda: ecs.delete_account_setting(name="guardDutyActivate"),
        # The Fargate retirement wait is set for the whole account only.
        lambda: ecs.put_account_setting(name="fargateTaskRetirementWaitPeriod", value="14",
                                        principalArn=ROLE),
        lambda: ecs.put_account_setting(name="containerInsights", value="enabled",
                                        principalArn="arn:aws:iam::999999999999:role/x"),
        lambda: ecs.put_account_setting(name="containerInsights", value="enabled",
                                        principalArn="not-an-arn"),
        lambda: ecs.list_account_settings(principalArn=f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s"),
    ]
    for call in refused:
        with pytest.raises(ClientError) as excinfo:
            call()
        assert error_code(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.put_account_setting(name="noSuchSetting", value="enabled")
    assert error_code(excinfo) == "InvalidParameterException"


def test_settings_are_per_region(clean_emulator):
    east = clean_emulator.client("ecs", region="us-east-1")
    west = clean_emulator.client("ecs", region="us-west-2")
    east.put_account_setting(name="containerInsights", value="enabled")
    assert effective(west)["containerInsights"]["value"] == "disabled"
    assert effective(west)["containerInsights"]["principalArn"] == ROOT

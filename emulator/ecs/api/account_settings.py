"""Handlers of the account settings operations."""

from emulator.aws.json_service import Call, handler
from emulator.ecs import account_settings, arns, render
from emulator.ecs.api.common import page_of


def _wire(setting: account_settings.Setting) -> dict:
    return render.account_setting(setting.name, setting.value, setting.principal_arn, setting.type)


@handler("ListAccountSettings")
def list_account_settings(call: Call) -> dict:
    request = call.request
    settings = account_settings.listed(call.store, call.ctx, name=request.name,
                                       value=request.value, principal_arn=request.principal_arn,
                                       effective_settings=bool(request.effective_settings))
    page, token = page_of(settings, request, key=lambda s: s.name, max_limit=10,
                          default_max=10)
    return {"settings": [_wire(s) for s in page], "nextToken": token}


@handler("PutAccountSetting")
def put_account_setting(call: Call) -> dict:
    request = call.request
    setting = account_settings.put(call.store, call.ctx, request.name, request.value,
                                   request.principal_arn)
    return {"setting": _wire(setting)}


@handler("PutAccountSettingDefault")
def put_account_setting_default(call: Call) -> dict:
    setting = account_settings.put(call.store, call.ctx, call.request.name, call.request.value,
                                   arns.principal_root(call.ctx))
    return {"setting": _wire(setting)}


@handler("DeleteAccountSetting")
def delete_account_setting(call: Call) -> dict:
    setting = account_settings.delete(call.store, call.ctx, call.request.name,
                                      call.request.principal_arn)
    return {"setting": _wire(setting)}

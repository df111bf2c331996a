"""The size limits of a template, as CloudFormation refuses them (moto has none).

A TemplateBody carries at most 51,200 characters, in every call that takes one; AWS refuses a longer
one before anything else, in its input validation's words (which quote the value). A template
read from a TemplateURL may have up to 1 MB, which AWS's own refusal gives as 1,000,000 bytes;
the URL itself, at most 5,120 characters (the API model's limit, which the SDKs do not check).
"""

from __future__ import annotations

from emulator.cloudformation.errors import validation_error

BODY_LIMIT = 51_200
URL_LIMIT = 5_120
URL_TEMPLATE_LIMIT = 1_000_000

# moto's handler of each operation whose request has a TemplateBody (the API model's list, but
# EstimateTemplateCost, which moto has not: it is answered as not implemented).
HANDLERS = ("create_stack", "update_stack", "create_change_set", "validate_template",
            "get_template_summary", "create_stack_set", "update_stack_set")


def wrap_handler(original):
    """A CloudFormationResponse handler that refuses an over-long TemplateBody or TemplateURL
    first, as AWS's input validation does."""

    def handler(self):
        check_request(self._get_param("TemplateBody"), self._get_param("TemplateURL"))
        return original(self)

    return handler


def check_request(body, url) -> None:
    # Characters, not UTF-8 bytes: the model's length constraint, and the CDK's choice of an
    # inline body (by its length in characters), count them.
    if isinstance(body, str) and len(body) > BODY_LIMIT:
        raise validation_error(_too_long(body, "templateBody", BODY_LIMIT))
    if isinstance(url, str) and len(url) > URL_LIMIT:
        raise validation_error(_too_long(url, "templateURL", URL_LIMIT))


def check_url_template(data: bytes) -> None:
    """A template read from a TemplateURL."""
    if len(data) > URL_TEMPLATE_LIMIT:
        raise validation_error(f"Template may not exceed {URL_TEMPLATE_LIMIT} bytes in size.")


def _too_long(value: str, member: str, limit: int) -> str:
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have length less than or equal to {limit}")

"""A template's resource types checked before anything is made, as CloudFormation checks them:
a type that does not exist in the stack's region (a typo, `AWS::ECS::Servce`) fails CreateStack,
UpdateStack, CreateChangeSet and ValidateTemplate with a ValidationError, "Template format
error: Unrecognized resource types: [...]". moto would create such a resource "without effect"
and report CREATE_COMPLETE.

The types that exist are cfn-lint's list for the region (moto's CloudFormation needs cfn-lint,
so it is here; the nearest public copy of the registry's list we have). Custom resources
(`Custom::...`) are always accepted, and a template with a Transform (SAM's
`AWS::Serverless::...`) is left to the transform.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from pathlib import Path

from emulator.cloudformation import dependency_cycles, safe_yaml
from emulator.cloudformation.errors import validation_error

NESTED_TOO_DEEP = "Template format error: the template is nested too deeply."

_DEFAULT_REGION = "us-east-1"


def _schemas() -> Path | None:
    """cfn-lint's copy of the registry's schemas; None without cfn-lint."""
    # Found, not imported: importing cfn-lint costs about a second, and only its data is read.
    spec = importlib.util.find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(spec.submodule_search_locations[0]) / "data" / "schemas"


@functools.lru_cache(maxsize=1)
def _regions() -> frozenset[str]:
    """The regions cfn-lint has a list of types for (its providers/<region>.json files)."""
    schemas = _schemas()
    if schemas is None:
        return frozenset()
    try:
        return frozenset(path.stem for path in (schemas / "providers").glob("*.json"))
    except OSError:
        return frozenset()


def _list_of(region: str) -> str:
    """The region whose list of types `region` uses: its own, else us-east-1's. The caches
    below are keyed by it, not by the region a request names (its SigV4 scope, which the caller
    chooses: each made-up region would cache the ~400 KB list again)."""
    return region if region in _regions() else _DEFAULT_REGION


@functools.lru_cache(maxsize=None)
def _providers(region: str) -> dict | None:
    """Resource type -> its schema's file name, of the types cfn-lint knows in `region` (one of
    _regions(), or us-east-1); None without cfn-lint."""
    schemas = _schemas()
    if schemas is None:
        return None
    try:
        return json.loads((schemas / "providers" / f"{_list_of(region)}.json").read_text())
    except (OSError, ValueError):
        return None


def _known_types(region: str) -> frozenset[str] | None:
    """The resource types cfn-lint knows in `region`; None without cfn-lint, when nothing is
    refused."""
    return _known_types_in(_list_of(region))


@functools.lru_cache(maxsize=None)
def _known_types_in(region: str) -> frozenset[str] | None:
    providers = _providers(region)
    return frozenset(providers) if providers is not None else None


def declared_properties(kind: str, region: str) -> frozenset[str] | None:
    """The properties the type's schema declares, if it permits no others (so CloudFormation
    refuses any other: "extraneous key [X] is not permitted", a name its API has included:
    `PlacementStrategy`, `ClientToken`); None when that is not known (no cfn-lint: nothing is
    refused). Names match case-sensitively, as CloudFormation's do (`desiredCount` is refused).
    pyproject.toml asks for a cfn-lint whose schemas have what the emulator supports."""
    return _declared_properties_in(kind, _list_of(region))


@functools.lru_cache(maxsize=None)
def _declared_properties_in(kind: str, region: str) -> frozenset[str] | None:
    providers, schemas = _providers(region), _schemas()
    name = (providers or {}).get(kind)
    if not name or schemas is None:
        return None
    try:
        schema = json.loads((schemas / "resources" / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    if schema.get("additionalProperties") is not False:
        return None
    return frozenset(schema.get("properties") or ())


def unrecognized(template: dict, region: str) -> list[str]:
    """The template's resource types that do not exist, each once, in template order."""
    known = _known_types(region)
    resources = template.get("Resources") if isinstance(template, dict) else None
    if known is None or not isinstance(resources, dict) or template.get("Transform"):
        return []
    found: list[str] = []
    for resource in resources.values():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        if (isinstance(kind, str) and kind not in known and not kind.startswith("Custom::")
                and kind not in found):
            found.append(kind)
    return found


def check(template_text, region: str) -> None:
    """Raise CloudFormation's ValidationError if the template names a type that does not exist
    (or its resources depend on each other in a circle, dependency_cycles.py).
    A template that does not parse is left to moto, which says so in its own words."""
    template = load(template_text)
    if template is not None:
        refuse_unrecognized(template, region)
        dependency_cycles.refuse(template)


def load(template_text):
    """A template body read as moto reads it; None if there is none or it cannot be read (moto
    then says so in its own words). YAML aliases and too deep a nesting are refused as AWS does."""
    if not isinstance(template_text, str) or not template_text:
        return None
    try:  # JSON (the CDK's) at C speed; moto's own parse reads it with PyYAML's, ~1 s for 500 KB
        return json.loads(template_text)
    except RecursionError:
        raise validation_error(NESTED_TOO_DEEP) from None
    except ValueError:
        from moto.cloudformation.models import Stack

        safe_yaml.refuse_aliases(template_text)
        try:
            return Stack.parse_template(template_text)
        except RecursionError:
            raise validation_error(NESTED_TOO_DEEP) from None
        except Exception:  # noqa: BLE001 - moto reports a template it cannot read
            return None


def refuse_unrecognized(template: dict, region: str) -> None:
    """CloudFormation's ValidationError if the (parsed) template names a type that does not
    exist."""
    missing = unrecognized(template, region)
    if missing:
        raise validation_error("Template format error: Unrecognized resource types: "
                               f"[{', '.join(missing)}]")


def wrap_backend(backend_class) -> None:
    """CreateStack, UpdateStack and CreateChangeSet check the types first."""

    def checking(original, position: int):
        @functools.wraps(original)
        def method(self, *args, **kwargs):
            template = kwargs.get("template", args[position] if len(args) > position else None)
            check(template, self.region_name)
            return original(self, *args, **kwargs)

        return method

    # The template's position among each method's arguments (after self). (ValidateTemplate's
    # handler is ours: template_validation.py checks the template it has parsed.)
    for name, position in (("create_stack", 1), ("update_stack", 1),
                           ("create_change_set", 2)):
        setattr(backend_class, name, checking(getattr(backend_class, name), position))

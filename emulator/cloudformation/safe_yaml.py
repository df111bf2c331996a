"""Templates are data: PyYAML's python tags are taken out of the loader moto reads them with.

moto parses YAML templates with `yaml.load(..., Loader=yaml.Loader)`, PyYAML's full constructor
set, where `!!python/object/apply:os.system [...]` calls the function as the template is read. A
template is the caller's, and callers include tasks (the AWS APIs are served to containers), so
any stack call would run code in the emulator's process. `disarm()` gives `yaml.Loader` its own
constructor tables without the `tag:yaml.org,2002:python/` entries; such a tag then falls to
the constructor moto registers for every other tag (CloudFormation's short forms, `!Ref`...),
which turns it into plain data. Process-wide and idempotent: nothing of ours reads YAML with
`yaml.Loader` (compose and the ECS CLI use safe_load).
"""

from __future__ import annotations

PYTHON_TAGS = "tag:yaml.org,2002:python/"


def disarm() -> None:
    import yaml

    loader = yaml.Loader
    # Assigned on the class itself: the tables it inherits stay as they are for other loaders,
    # and constructors added to yaml.Loader later (moto's catch-all) land in these copies.
    loader.yaml_constructors = {tag: constructor
                                for tag, constructor in loader.yaml_constructors.items()
                                if not (tag or "").startswith(PYTHON_TAGS)}
    loader.yaml_multi_constructors = {prefix: constructor
                                      for prefix, constructor
                                      in loader.yaml_multi_constructors.items()
                                      if not (prefix or "").startswith(PYTHON_TAGS)}


ALIASES_REFUSED = ("Template format error: YAML aliases are not allowed in CloudFormation "
                   "templates")


def refuse_aliases(text: str) -> None:
    """Raise CloudFormation's ValidationError if the YAML `text` uses an alias (`*name`), as
    CloudFormation does: a few hundred bytes of nested aliases expand to a tree billions of
    nodes large, which every walk of the template (its references, its types) would pay for.
    Read as a stream of events, nothing expanded; a text that is no YAML is left to the parse
    that says so."""
    import yaml

    from emulator.cloudformation.errors import validation_error

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise validation_error(ALIASES_REFUSED)
    except yaml.YAMLError:
        return

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

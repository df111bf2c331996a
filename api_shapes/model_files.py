"""Find and read botocore's service model files (service-2.json[.gz]) without importing botocore.

Importing botocore.loaders pulls in urllib3, dateutil and botocore.utils, and its Loader lists
every service's directory and parses JSON into OrderedDicts: together about a tenth of a second
of the emulator's start-up, for two files. This reads the same file the Loader would pick: the
latest API version found under ~/.aws/models or botocore's data directory, the first of them that
has it. Anything out of the common case (sdk-extras files to merge, no such service) is left to
botocore's Loader, so the result is always the Loader's.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os

_TYPE = "service-2"


def load_model(service: str) -> dict:
    roots = _search_paths()
    versions = {
        version
        for root in roots
        if os.path.isdir(os.path.join(root, service))
        for version in os.listdir(os.path.join(root, service))
        if _model_file(os.path.join(root, service, version, _TYPE))
    }
    if not versions:
        return _load_with_botocore(service)
    latest = max(versions)
    for root in roots:
        if _model_file(os.path.join(root, service, latest, f"{_TYPE}.sdk-extras")):
            return _load_with_botocore(service)
    for root in roots:
        path = _model_file(os.path.join(root, service, latest, _TYPE))
        if path:
            return _read(path)
    return _load_with_botocore(service)  # unreachable: a version implies a file


def _search_paths() -> list[str]:
    """The default search path of botocore's Loader: the user's models, then botocore's."""
    spec = importlib.util.find_spec("botocore")
    builtin = os.path.join(list(spec.submodule_search_locations)[0], "data")
    customer = os.path.join(os.path.expanduser("~"), ".aws", "models")
    return [path for path in (customer, builtin) if os.path.isdir(path)]


def _model_file(base: str) -> str | None:
    for path in (base + ".json", base + ".json.gz"):  # the Loader's order
        if os.path.isfile(path):
            return path
    return None


def _read(path: str) -> dict:
    with open(path, "rb") as file:
        payload = file.read()
    if path.endswith(".gz"):
        payload = gzip.decompress(payload)
    return json.loads(payload)


def _load_with_botocore(service: str) -> dict:
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model(service, _TYPE)

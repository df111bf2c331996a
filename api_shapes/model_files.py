"""Find and read botocore's service model files (service-2.json[.gz]) without importing botocore.

Importing botocore.loaders pulls in urllib3, dateutil and botocore.utils, and its Loader lists
every service's directory and parses JSON into OrderedDicts: together about a tenth of a second
of the emulator's start-up, for two files. This reads the same file the Loader would pick: the
latest API version found under ~/.aws/models or botocore's data directory, the first of them that
has it. Anything out of the common case (sdk-extras files to merge, no such service) is left to
botocore's Loader, so the result is always the Loader's, less its documentation (model_cache.py:
the model is read from a compact copy made on first use while that copy is of the same file).

load_metadata reads only a model's opening metadata (its protocol, for one): the moto bridge
asks for it on the first call of each REST service, where parsing the whole model cost a
botocore session and up to a third of a second.
"""

from __future__ import annotations

import importlib.util
import json
import os

from api_shapes import model_cache

_TYPE = "service-2"
_METADATA_WITHIN = 16 * 1024  # botocore's models open with their metadata, about 1 KiB of it


def load_model(service: str) -> dict:
    """The service's model without its documentation (see model_cache.py)."""
    path, extras = _locate(service)
    if not path or extras:
        return model_cache.without_documentation(_load_with_botocore(service))
    key = model_cache.key_of(path)
    model = model_cache.read(service, key)
    if model is None:
        model = model_cache.without_documentation(_read(path))
        model_cache.write(service, key, model)
    return model


def load_metadata(service: str) -> dict:
    """A model's "metadata" (protocol, signing name, ...) without parsing the rest: botocore's
    files begin with it, and a whole model takes up to a fifth of a second to parse (S3's).
    An sdk-extras file's metadata is merged in, as botocore's Loader merges it."""
    path, extras = _locate(service)
    metadata = _head_metadata(path) if path else None
    if metadata is None:
        return load_model(service)["metadata"]
    if extras:
        _merge(metadata, _read(extras).get("merge", {}).get("metadata", {}))
    return metadata


def _head_metadata(path: str) -> dict | None:
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as file:
        head = file.read(_METADATA_WITHIN).decode("utf-8", "replace")
    key = head.find('"metadata"')
    colon = head.find(":", key) if key >= 0 else -1
    if colon < 0:
        return None
    start = colon + 1
    while head[start:start + 1].isspace():
        start += 1
    try:
        metadata, _ = json.JSONDecoder().raw_decode(head, start)
    except ValueError:  # not all within the head after all
        return None
    return metadata if isinstance(metadata, dict) else None


def _merge(into: dict, extra: dict) -> None:
    """botocore.utils.merge_dicts: nested dicts merged, anything else replaced."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _locate(service: str) -> tuple[str | None, str | None]:
    """The model file botocore's Loader would read and its sdk-extras file, if any; no model
    file where only the Loader can tell."""
    roots = _search_paths()
    versions = {
        version
        for root in roots
        if os.path.isdir(os.path.join(root, service))
        for version in os.listdir(os.path.join(root, service))
        if _model_file(os.path.join(root, service, version, _TYPE))
    }
    if not versions:
        return None, None
    latest = max(versions)
    extras = next(filter(None, (_model_file(os.path.join(root, service, latest,
                                                         f"{_TYPE}.sdk-extras"))
                                for root in roots)), None)
    path = next(filter(None, (_model_file(os.path.join(root, service, latest, _TYPE))
                              for root in roots)), None)
    return path, extras


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
        import gzip  # only without a cached copy (model_cache.py)

        payload = gzip.decompress(payload)
    return json.loads(payload)


def _load_with_botocore(service: str) -> dict:
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model(service, _TYPE)

"""api_shapes/fast_check.py: the per-shape check of a request that fits gives what the full
check (validate.Validator) gives, and leaves everything else to it."""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from api_shapes import ShapeError, load_service
from api_shapes.fast_check import FastChecks, Unsure
from api_shapes.validate import Validator
from shape_strategies import broken_body, places, valid_body

SERVICES = {name: load_service(name) for name in ("ecs", "ecr")}
CASES = sorted((name, op) for name, service in SERVICES.items()
               for op, operation in service.operations.items() if operation.input_shape)


def both(service, shape: str, body):
    """(the fast check's result or Unsure, the full check's result or its error)."""
    fast = FastChecks(service.shapes, check_patterns=True)
    full = Validator(service.shapes, reject_unknown=False, check_patterns=True)
    try:
        quick = fast.of(shape)(body)
    except Unsure:
        quick = Unsure
    try:
        slow = full.validate(shape, body)
    except (ShapeError, RecursionError) as error:
        slow = error
    return quick, slow


@pytest.mark.parametrize("service_name, operation", CASES)
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_what_the_fast_check_passes_the_full_check_passes_alike(service_name, operation, data):
    service = SERVICES[service_name]
    shape = service.operations[operation].input_shape
    body = data.draw(st.one_of(valid_body(service, shape),
                               broken_body(service, shape).map(lambda broken: broken.body)))
    quick, slow = both(service, shape, body)
    if quick is not Unsure:  # vouched for: exactly the full check's answer
        assert not isinstance(slow, Exception), (body, slow)
        assert quick == slow and type(quick) is type(slow)
    else:  # left to the full check, which must have a reason (or a conversion to make)
        assert isinstance(slow, Exception) or _converts(service, shape, body)


def _converts(service, shape: str, body) -> bool:
    """Whether the body holds a timestamp, blob or map, which the fast check leaves alone."""
    return any(service.shapes[place.shape_name]["type"] in ("timestamp", "blob", "map")
               for place in places(service, shape, body))


@pytest.mark.parametrize("body, fits", [
    ({"clusters": ["a", "b"], "include": ["TAGS"]}, True),
    ({"clusters": ["a"], "include": ["NOT_AN_OPTION"]}, False),  # enum
    ({"clusters": "a"}, False),  # type
    ({"clusters": [1]}, False),
    ({"clusters": None, "unknown": 1}, True),  # nulls and unknown members dropped
])
def test_describe_clusters_bodies(body, fits):
    quick, slow = both(SERVICES["ecs"], "DescribeClustersRequest", body)
    assert (quick is not Unsure) == fits
    assert isinstance(slow, Exception) != fits
    if fits:
        assert quick == slow


def test_a_shape_that_contains_itself_is_checked():
    shapes = {"Node": {"type": "structure", "members": {"child": {"shape": "Node"},
                                                        "name": {"shape": "Name"}}},
              "Name": {"type": "string", "max": 3}}
    check = FastChecks(shapes, check_patterns=True).of("Node")
    assert check({"child": {"child": {"name": "abc"}}}) == {"child": {"child": {"name": "abc"}}}
    with pytest.raises(Unsure):
        check({"child": {"name": "abcd"}})


class _SlowShapes(dict):
    """Shapes read slowly, so that a second thread asks for a function while it is made."""

    def __getitem__(self, name):
        time.sleep(0.005)
        return super().__getitem__(name)


def test_a_function_asked_for_while_another_thread_makes_it_is_whole():
    """The second thread got the first's stand-in, which, called before the function was
    there, called itself to RecursionError."""
    service = SERVICES["ecs"]
    fast = FastChecks(_SlowShapes(service.shapes), check_patterns=True)
    body = {"taskDefinition": "t", "overrides": {"containerOverrides": [{"name": "c"}]}}
    results = []

    def check():
        try:
            results.append(fast.of("RunTaskRequest")(body))
        except BaseException as error:  # noqa: BLE001 - the failure is the finding
            results.append(error)

    first = threading.Thread(target=check)
    first.start()
    time.sleep(0.05)  # the first is making it (tens of shapes at 5 ms each)
    check()
    first.join()
    assert results == [results[0]] * 2 and isinstance(results[0], dict), results


def test_a_function_that_fails_to_be_made_leaves_no_stand_in():
    shapes = {"Node": {"type": "structure", "members": {"child": {"shape": "Node"},
                                                        "bad": {"shape": "Bad"}}},
              "Bad": {"type": "string", "pattern": "x", "min": "not a number"}}
    fast = FastChecks(shapes, check_patterns=True)

    def broken(shape):
        raise KeyError("a shape this cannot read")

    fast._string = broken
    for _ in range(2):  # made anew, and failing the same, rather than a stand-in's recursion
        with pytest.raises(KeyError):
            fast.of("Node")
    assert fast._made == {} and fast._making == {}

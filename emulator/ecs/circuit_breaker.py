"""The deployment circuit breaker's settings: its threshold and whether a healthy task resets
its failure count (DeploymentCircuitBreaker.thresholdConfiguration and resetOnHealthyTask).

As the API reference states them (ThresholdConfiguration, ThresholdType, DeploymentCircuitBreaker):
- BOUNDED_PERCENT (the default, value 50): value percent of the latest desired count, at least 3
  and at most 200 failed tasks; UNBOUNDED_PERCENT: the same without the 3-to-200 bounds; COUNT:
  value itself.
- resetOnHealthyTask (default true): a task that becomes healthy puts the count back to 0 (the
  consecutive model); false keeps every failure since the deployment began (cumulative).
The scheduler's use of them is in emulator/engine/service_failures.py.
"""

from __future__ import annotations

import math

from emulator.ecs.errors import InvalidParameterException

DEFAULT_TYPE, DEFAULT_VALUE = "BOUNDED_PERCENT", 50
LOWEST, HIGHEST = 3, 200  # BOUNDED_PERCENT's bounds
PERCENT_TYPES = ("BOUNDED_PERCENT", "UNBOUNDED_PERCENT")


def threshold(desired: int, configuration: dict | None = None) -> int:
    """How many failed tasks fail a deployment whose service wants `desired` tasks."""
    kind = (configuration or {}).get("type", DEFAULT_TYPE)
    value = (configuration or {}).get("value", DEFAULT_VALUE)
    if kind == "COUNT":
        return value
    # ECS's own default reads "0.5 * desired task count" and 7 tasks give 4: rounded up.
    computed = math.ceil(desired * value / 100)
    if kind == "UNBOUNDED_PERCENT":
        # Unbounded, yet never 0: a threshold of no failures would fail a deployment (of a
        # service scaled to zero) that has seen none.
        return max(1, computed)
    return max(LOWEST, min(HIGHEST, computed))


def threshold_of(breaker: dict | None, desired: int) -> int:
    return threshold(desired, (breaker or {}).get("thresholdConfiguration"))


def resets_on_healthy_task(breaker: dict | None) -> bool:
    return (breaker or {}).get("resetOnHealthyTask", True)


def validate(breaker: dict | None) -> None:
    """The values botocore's model cannot rule out (type and value are required members and the
    type an enum: the request validation answers those)."""
    configuration = (breaker or {}).get("thresholdConfiguration")
    if configuration is None:
        return
    kind, value = configuration["type"], configuration["value"]
    if value < 1:
        raise InvalidParameterException(
            f"thresholdConfiguration value must be at least 1 for type {kind}.")
    if kind in PERCENT_TYPES and value > 100:
        raise InvalidParameterException(
            f"thresholdConfiguration value must be between 1 and 100 for type {kind}.")


def check_load_balancers(breaker: dict | None, load_balancers: list[dict]) -> None:
    """An enabled breaker does not go with a Classic Load Balancer (one named by
    loadBalancerName): ECS refuses the pair, in these words."""
    if (breaker or {}).get("enable") and any(lb.get("loadBalancerName") for lb in load_balancers):
        raise InvalidParameterException(
            "Deployment circuit breaker feature is not supported with Classic Load Balancers. "
            "Remove the Classic Load Balancer and try again.")

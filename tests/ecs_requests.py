"""Unit tests' way to hand a domain function what a handler would: an operation's request as
named values (api_shapes/requests.py), made from the wire dict a client would send."""

from api_shapes import load_service


def ecs_request(operation: str, params: dict):
    """`params` (camelCase, as on the wire) as `operation`'s request class."""
    return load_service("ecs").request(operation, params)

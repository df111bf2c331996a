"""ECS's cluster query language: parse an expression once, then test container instances with it.

Used by ListContainerInstances' `filter` and, later, by `memberOf` placement constraints. The
grammar, as the ECS Developer Guide gives it:

    expression := or ;  or := and ("or" | "||") and ... ;  and := unary ("and" | "&&") unary ...
    unary      := ("not" | "!") unary | "(" expression ")" | subject operator [argument]
    argument   := value | "[" value ("," value)* "]"     (a value is a bare word or quoted)

Every subject the guide lists is supported, each with the operators the guide allows for it;
anything else is refused with InvalidParameterException rather than silently matching nothing.
`matches` follows Java's Pattern.matches: the whole value must match.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Callable

from emulator.ecs.errors import InvalidParameterException


@dataclass
class InstanceFacts:
    """What an expression can ask about one container instance."""

    attributes: dict[str, str | None]
    ec2_instance_id: str | None
    agent_connected: bool
    agent_version: str | None
    registered_at: dt.datetime
    running_tasks_count: int
    task_groups: set[str] = field(default_factory=set)


Predicate = Callable[[InstanceFacts], bool]

# operator spellings -> canonical symbol
_OPERATORS = {
    "==": "==", "equals": "==",
    "!=": "!=", "not_equals": "!=",
    ">": ">", "greater_than": ">",
    ">=": ">=", "greater_than_equal": ">=",
    "<": "<", "less_than": "<",
    "<=": "<=", "less_than_equal": "<=",
    "exists": "exists", "!exists": "!exists", "not_exists": "!exists",
    "in": "in", "!in": "!in", "not_in": "!in",
    "=~": "=~", "matches": "=~",
    "!~": "!~", "not_matches": "!~",
}
_EQUALITY = {"==", "!=", "in", "!in", "=~", "!~"}
_ORDERING = {"==", "!=", ">", ">=", "<", "<="}
_EXISTENCE = {"exists", "!exists"}
# subject -> the operators the Developer Guide allows for it
_SUBJECT_OPERATORS = {
    "agentConnected": _EQUALITY,
    "agentVersion": _ORDERING,
    "attribute": _EQUALITY | _ORDERING | _EXISTENCE,
    "ec2InstanceId": _EQUALITY,
    "registeredAt": _ORDERING,
    "runningTasksCount": _ORDERING,
    "task:group": _EQUALITY | _EXISTENCE,
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'[^']*'|"[^"]*")
      | (?P<symbol>==|!=|>=|<=|=~|!~|&&|\|\||[()\[\],<>!])
      | (?P<word>[^\s()\[\],'"=<>!~&|]+)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    """One token of a cluster query expression."""
    kind: str  # string, symbol or word
    text: str


def compile_expression(expression: str) -> Predicate:
    """A predicate over InstanceFacts, or InvalidParameterException naming what is wrong."""
    parser = _Parser(_tokenize(expression), expression)
    predicate = parser.parse_or()
    if not parser.at_end():
        parser.fail(f"unexpected '{parser.peek().text}'")
    return predicate


def _tokenize(expression: str) -> list[_Token]:
    tokens, position = [], 0
    while position < len(expression):
        if not expression[position:].strip():
            break
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise InvalidParameterException(
                f"Invalid filter expression '{expression}': cannot read it at position {position}."
            )
        kind = match.lastgroup
        text = match.group(kind)
        if kind == "string":
            text = text[1:-1]
        tokens.append(_Token(kind, text))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, tokens: list[_Token], source: str):
        self.tokens = tokens
        self.position = 0
        self.source = source

    # -- token helpers --------------------------------------------------------------------------

    def at_end(self) -> bool:
        return self.position >= len(self.tokens)

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.position + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            self.fail("the expression ends too early")
        self.position += 1
        return token

    def is_keyword(self, *texts: str) -> bool:
        token = self.peek()
        return token is not None and token.kind in ("word", "symbol") and token.text in texts

    def fail(self, reason: str):
        raise InvalidParameterException(f"Invalid filter expression '{self.source}': {reason}.")

    # -- grammar --------------------------------------------------------------------------------

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.is_keyword("or", "||"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda facts: any(p(facts) for p in parts))

    def parse_and(self) -> Predicate:
        parts = [self.parse_unary()]
        while self.is_keyword("and", "&&"):
            self.take()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else (lambda facts: all(p(facts) for p in parts))

    def parse_unary(self) -> Predicate:
        if self.is_keyword("not", "!"):
            self.take()
            inner = self.parse_unary()
            return lambda facts: not inner(facts)
        if self.is_keyword("("):
            self.take()
            inner = self.parse_or()
            if not self.is_keyword(")"):
                self.fail("a '(' is not closed")
            self.take()
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> Predicate:
        subject_token = self.take()
        if subject_token.kind != "word":
            self.fail(f"expected a subject, got '{subject_token.text}'")
        subject, attribute = _subject(subject_token.text, self)
        operator = self.parse_operator()
        if operator not in _SUBJECT_OPERATORS[subject]:
            self.fail(f"the operator '{operator}' cannot be used with {subject_token.text}")
        argument = None if operator in _EXISTENCE else self.parse_argument()
        if operator in ("in", "!in") and not isinstance(argument, list):
            self.fail(f"'{operator}' needs a list argument such as [a, b]")
        if operator not in ("in", "!in") and isinstance(argument, list):
            self.fail(f"'{operator}' takes a single value, not a list")
        return _comparison(subject, attribute, operator, argument, self)

    def parse_operator(self) -> str:
        token = self.take()
        text = token.text
        if token.kind == "symbol" and text == "!":
            following = self.take()
            text = "!" + following.text  # !exists, !in
        if token.kind == "string" or text not in _OPERATORS:
            self.fail(f"'{text}' is not an operator")
        return _OPERATORS[text]

    def parse_argument(self) -> str | list[str]:
        if not self.is_keyword("["):
            return self.parse_value()
        self.take()
        values = [self.parse_value()]
        while self.is_keyword(","):
            self.take()
            values.append(self.parse_value())
        if not self.is_keyword("]"):
            self.fail("a '[' is not closed")
        self.take()
        return values

    def parse_value(self) -> str:
        token = self.take()
        if token.kind == "symbol":
            self.fail(f"expected a value, got '{token.text}'")
        return token.text


def _subject(text: str, parser: _Parser) -> tuple[str, str | None]:
    if text.startswith("attribute:"):
        name = text[len("attribute:"):]
        if not name:
            parser.fail("'attribute:' needs an attribute name")
        return "attribute", name
    if text in _SUBJECT_OPERATORS:
        return text, None
    parser.fail(f"unknown subject '{text}'")


# -- comparisons --------------------------------------------------------------------------------


def _comparison(subject: str, attribute: str | None, operator: str, argument, parser) -> Predicate:
    if subject == "task:group":
        if operator == "exists":
            return lambda facts: bool(facts.task_groups)
        if operator == "!exists":
            return lambda facts: not facts.task_groups
        # An instance has many task groups: a positive test holds if one group passes it, a
        # negation if none passes its positive form.
        positive = _scalar_test(
            _POSITIVE.get(operator, operator), argument, _compare_strings, parser
        )
        if operator in _POSITIVE:
            return lambda facts: not any(positive(g) for g in facts.task_groups)
        return lambda facts: any(positive(g) for g in facts.task_groups)
    if subject == "attribute":
        if operator == "exists":
            return lambda facts: attribute in facts.attributes
        if operator == "!exists":
            return lambda facts: attribute not in facts.attributes
        test = _scalar_test(operator, argument, _compare_loose, parser)
        return lambda facts: _test_present(test, operator, facts.attributes.get(attribute, _ABSENT))
    if subject == "runningTasksCount":
        test = _scalar_test(operator, _as_int(argument, parser), _compare_plain, parser)
        return lambda facts: test(facts.running_tasks_count)
    if subject == "registeredAt":
        test = _scalar_test(operator, _as_time(argument, parser), _compare_plain, parser)
        return lambda facts: test(facts.registered_at)
    if subject == "agentVersion":
        test = _scalar_test(operator, _as_version(argument, parser), _compare_plain, parser)
        return lambda facts: facts.agent_version is not None and test(
            _as_version(facts.agent_version, None)
        )
    if subject == "agentConnected":
        test = _scalar_test(operator, argument, _compare_strings, parser)
        return lambda facts: test("true" if facts.agent_connected else "false")
    # ec2InstanceId
    test = _scalar_test(operator, argument, _compare_strings, parser)
    return lambda facts: _test_present(test, operator, facts.ec2_instance_id or _ABSENT)


_ABSENT = object()
_POSITIVE = {"!=": "==", "!in": "in", "!~": "=~"}


def _test_present(test, operator: str, value) -> bool:
    """A missing value satisfies only the negative operators."""
    if value is _ABSENT:
        return operator in ("!=", "!in", "!~")
    return test("" if value is None else value)


def _scalar_test(operator: str, argument, compare, parser) -> Callable[[object], bool]:
    if operator == "in":
        return lambda value: any(compare(value, a) == 0 for a in argument)
    if operator == "!in":
        return lambda value: all(compare(value, a) != 0 for a in argument)
    if operator in ("=~", "!~"):
        try:
            pattern = re.compile(argument)
        except re.error as error:
            parser.fail(f"'{argument}' is not a valid regular expression ({error})")
        if operator == "=~":
            return lambda value: pattern.fullmatch(str(value)) is not None
        return lambda value: pattern.fullmatch(str(value)) is None
    checks = {
        "==": lambda c: c == 0, "!=": lambda c: c != 0,
        ">": lambda c: c > 0, ">=": lambda c: c >= 0,
        "<": lambda c: c < 0, "<=": lambda c: c <= 0,
    }
    check = checks[operator]
    return lambda value: check(compare(value, argument))


def _compare_plain(left, right) -> int:
    return (left > right) - (left < right)


def _compare_strings(left, right) -> int:
    return _compare_plain(str(left), str(right))


def _compare_loose(left, right) -> int:
    """Attribute values are strings; compare them as numbers when both are numbers."""
    try:
        return _compare_plain(float(left), float(right))
    except (TypeError, ValueError):
        return _compare_strings(left, right)


def _as_int(argument, parser):
    try:
        return int(argument)
    except (TypeError, ValueError):
        parser.fail(f"runningTasksCount compares with a whole number, not '{argument}'")


def _as_version(text: str, parser) -> tuple[int, ...]:
    match = re.fullmatch(r"v?(\d+(?:\.\d+)*)", text.strip()) if isinstance(text, str) else None
    if match is None:
        if parser is None:
            return ()
        parser.fail(f"'{text}' is not an agent version such as 1.14.5")
    parts = [int(part) for part in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:  # 1.14 and 1.14.0 are the same version
        parts.pop()
    return tuple(parts)


def _as_time(text: str, parser) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parser.fail(f"'{text}' is not a date such as 2018-04-12 or 2018-04-12T23:20:50Z")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed

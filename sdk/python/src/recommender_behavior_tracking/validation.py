"""validate_event: the generated JSON Schemas (draft 2020-12, jsonschema) reporting violations
the way the TypeScript validator (gen/validator) does — same field paths, same rule ids.

Field paths are dotted, arrays as ``[i]`` ("context.device_type",
"scenario_data.video_data.seek_positions[2]"); a missing required property is reported at its own
path; root-level problems have field "". JSON Schema keywords map to the TS rule ids:
required → required (so do a null or an empty string in a required field: the TS validator treats
both as absent), type → type, enum of a proto enum → enum (an inline enum → allowed_values),
minimum/maximum → range — or type when the value does not fit the proto field's integer type
(int32, or int64 limited to ±(2^53-1) as JSON numbers), read from the generated descriptors —,
pattern → pattern, maxLength → max_len, maxItems → max_items, the scenario oneof → oneof at the
path of the message holding it.

Strings are measured in UTF-16 code units and patterns follow ECMAScript (``$`` is the end of the
string), as in the TS validator and ajv, so all validators agree on non-BMP text and trailing
newlines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, Iterator, List, Literal, Mapping, Optional, Sequence, Tuple, Union

from google.protobuf.descriptor import FieldDescriptor
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.protocols import Validator

from ._schemas import KAFKA_SCHEMA, REQUEST_SCHEMA, schema

#: request: a REST/gRPC request body (lenient: proto enum names accepted, server-filled fields
#: optional); kafka: a published Kafka message (canonical).
Mode = Literal["request", "kafka"]

#: Rule ids of violations (gen/validator/violation.ts ViolationRule).
Rule = Literal[
    "required", "type", "enum", "range", "allowed_values", "pattern", "max_len", "max_items",
    "oneof", "unknown_field", "recommended_action",
]


@dataclass(frozen=True)
class Violation:
    """One broken rule of an event."""

    #: Dotted path, e.g. "context.device_type", "scenario_data.video_data.seek_positions[2]"; "" for the event itself.
    field: str
    #: Rule id, as the TypeScript validator and the server report it.
    rule: Rule
    #: Human-readable explanation.
    message: str
    #: Always "error" here: the schemas hold the rules that reject an event.
    severity: Literal["error", "warning"] = "error"


def validate_event(event: Any, mode: Mode = "request") -> List[Violation]:
    """Validates a behavior event (the JSON as a dict) and returns its violations, [] when valid.

    ``mode="request"`` checks what the REST API accepts; ``mode="kafka"`` checks a message for the
    ``user-behaviors-{tenant_id}`` topic (event_id and timestamp required, wire enum names only).
    """
    if mode not in ("request", "kafka"):
        raise ValueError(f"mode must be 'request' or 'kafka', got {mode!r}")
    out: List[Violation] = []
    seen: set[Tuple[str, str]] = set()
    for field, rule, message in _collect(_validator(mode).iter_errors(event)):
        if (field, rule) not in seen:
            seen.add((field, rule))
            out.append(Violation(field, rule, message))
    # The TS validator checks nothing else of a field it found missing (e.g. no pattern on ""), nor
    # of a value of the wrong type (e.g. no enum on 3): the first of required, type is its only rule.
    for first in ("required", "type"):
        decided = {v.field for v in out if v.rule == first}
        out = [v for v in out if v.rule == first or v.field not in decided]
    return out


def is_valid(event: Any, mode: Mode = "request") -> bool:
    """Whether ``validate_event(event, mode)`` is empty."""
    return not validate_event(event, mode)


# --------------------------------------------------------------------------------------------
# jsonschema with the TS validator's string semantics


def _utf16_len(s: str) -> int:
    return len(s.encode("utf-16-le")) // 2


def _max_length(validator: Validator, limit: int, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if isinstance(instance, str) and _utf16_len(instance) > limit:
        yield ValidationError(f"must be at most {limit} characters long, got {_utf16_len(instance)}")


def _min_length(validator: Validator, limit: int, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if isinstance(instance, str) and _utf16_len(instance) < limit:
        yield ValidationError(f"must be at least {limit} characters long")


@lru_cache(maxsize=None)
def _ecma_regex(pattern: str) -> "re.Pattern[str]":
    """An ECMAScript pattern (no flags) as a Python one: ``$`` outside a class is ``\\Z``."""
    out: List[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if c == "[":
            in_class = True
        elif c == "]":
            in_class = False
        out.append("\\Z" if c == "$" and not in_class else c)
        i += 1
    return re.compile("".join(out))


def _pattern(validator: Validator, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if isinstance(instance, str) and not _ecma_regex(pattern).search(instance):
        yield ValidationError(f"must match {pattern}, got {instance!r}")


_EcmaValidator = validators.extend(  # type: ignore[no-untyped-call]  # untyped in types-jsonschema
    Draft202012Validator, {"maxLength": _max_length, "minLength": _min_length, "pattern": _pattern}
)


@lru_cache(maxsize=None)
def _validator(mode: Mode) -> Validator:
    s = schema(KAFKA_SCHEMA if mode == "kafka" else REQUEST_SCHEMA)
    v: Validator = _EcmaValidator(s)
    return v


# --------------------------------------------------------------------------------------------
# jsonschema errors → TS validator violations

_CONTAINERS = ("properties", "additionalProperties", "patternProperties", "items", "prefixItems")
_RULES: Dict[str, Rule] = {
    "required": "required",
    "minLength": "required",  # the schemas' minLength 1 is the TS validator's "empty counts as missing"
    "type": "type",
    "const": "enum",
    "minimum": "range",
    "maximum": "range",
    "exclusiveMinimum": "range",
    "exclusiveMaximum": "range",
    "multipleOf": "range",
    "pattern": "pattern",
    "maxLength": "max_len",
    "maxItems": "max_items",
    "maxProperties": "max_items",
    "oneOf": "oneof",
}


def _path(parts: Iterable[Union[str, int]]) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def _collect(errors: Iterable[ValidationError]) -> Iterator[Tuple[str, Rule, str]]:
    for e in errors:
        parts: List[Union[str, int]] = list(e.absolute_path)
        field = _path(parts)
        schema_path = list(e.absolute_schema_path)
        kw = str(e.validator)
        if "then" in schema_path:
            # The scenario oneof: a second member set while another is (if member then others null).
            holder = _path(parts[:-1])
            yield holder, "oneof", f"{holder or 'event'}: at most one scenario member may be set"
        elif kw == "required":
            assert isinstance(e.instance, dict) and isinstance(e.validator_value, list)
            for name in e.validator_value:
                if name not in e.instance:
                    f = f"{field}.{name}" if field else str(name)
                    yield f, "required", f"{f} is required"
        elif kw == "anyOf":
            branch = _matching_branch(e)
            if branch is None:
                yield field, "type", f"{field or 'value'}: {e.message}"
            else:
                yield from _collect(branch)
        elif kw == "type" and e.instance is None and _in_properties(schema_path):
            yield field, "required", f"{field} is required"
        elif kw == "enum":
            # A proto enum is a named $defs schema; an inline list is a field's allowed values.
            rule: Rule = "enum" if isinstance(e.schema, dict) and "title" in e.schema else "allowed_values"
            allowed = e.validator_value if isinstance(e.validator_value, list) else []
            yield field, rule, f"{field} must be one of {', '.join(map(str, allowed))}, got {e.instance!r}"
        elif kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") and not _fits_int_type(parts, e.instance):
            yield field, "type", f"{field} must be an integer of the field's proto type, got {e.instance!r}"
        else:
            yield field, _RULES.get(kw, "type"), f"{field or 'value'}: {e.message}"


def _in_properties(schema_path: Sequence[Any]) -> bool:
    """Whether the innermost container keyword of the path is "properties" (a message field, not an item or map value)."""
    for p in reversed(schema_path):
        if p in _CONTAINERS:
            return bool(p == "properties")
    return False


def _matching_branch(e: ValidationError) -> Optional[List[ValidationError]]:
    """The errors of the one anyOf branch whose type matches the instance (e.g. the message, not null)."""
    branches: Dict[Any, List[ValidationError]] = {}
    for sub in e.context or []:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    typed = [errs for errs in branches.values() if not any(s.validator == "type" and not s.relative_path for s in errs)]
    return typed[0] if len(typed) == 1 else None


# Integer ranges of the proto scalar types as the TS validator checks them (int64 as JSON numbers).
_SAFE = 2**53 - 1
_INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: (-_SAFE, _SAFE),
    FieldDescriptor.TYPE_SINT64: (-_SAFE, _SAFE),
    FieldDescriptor.TYPE_SFIXED64: (-_SAFE, _SAFE),
    FieldDescriptor.TYPE_UINT64: (0, _SAFE),
    FieldDescriptor.TYPE_FIXED64: (0, _SAFE),
}


def _fits_int_type(parts: Sequence[Union[str, int]], value: Any) -> bool:
    """False when ``value`` is outside the integer range of the proto field at ``parts``."""
    f = _field_at(parts)
    if f is None or not isinstance(value, (int, float)) or f.type not in _INT_RANGES:
        return True
    lo, hi = _INT_RANGES[f.type]
    return bool(lo <= value <= hi)


def _field_at(parts: Sequence[Union[str, int]]) -> Optional[FieldDescriptor]:
    from recommender.v1 import behavior_pb2

    msg: Any = behavior_pb2.BehaviorEvent.DESCRIPTOR  # a Descriptor (upb's or the Python one)
    field: Any = None
    pending_item = False  # after a repeated field or a map: the next part selects an element
    for p in parts:
        if pending_item:
            pending_item = False
            assert field is not None
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                field = entry.fields_by_name["value"]
            msg = field.message_type
            continue
        if msg is None or not isinstance(p, str) or p not in msg.fields_by_name:
            return None
        field = msg.fields_by_name[p]
        if field.is_repeated:
            pending_item = True
        else:
            msg = field.message_type
    return None if pending_item else field

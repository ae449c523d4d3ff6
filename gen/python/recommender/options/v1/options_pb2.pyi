from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class IngestKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_KIND_UNSPECIFIED: _ClassVar[IngestKind]
    INGEST_KIND_TRACK: _ClassVar[IngestKind]
    INGEST_KIND_TRACK_BATCH: _ClassVar[IngestKind]
    INGEST_KIND_VALIDATE: _ClassVar[IngestKind]
    INGEST_KIND_HEALTH: _ClassVar[IngestKind]

class Access(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ACCESS_UNSPECIFIED: _ClassVar[Access]
    ACCESS_PUBLIC: _ClassVar[Access]
    ACCESS_TENANT: _ClassVar[Access]
    ACCESS_ADMIN: _ClassVar[Access]
INGEST_KIND_UNSPECIFIED: IngestKind
INGEST_KIND_TRACK: IngestKind
INGEST_KIND_TRACK_BATCH: IngestKind
INGEST_KIND_VALIDATE: IngestKind
INGEST_KIND_HEALTH: IngestKind
ACCESS_UNSPECIFIED: Access
ACCESS_PUBLIC: Access
ACCESS_TENANT: Access
ACCESS_ADMIN: Access
FIELD_FIELD_NUMBER: _ClassVar[int]
field: _descriptor.FieldDescriptor
SCENARIO_FIELD_NUMBER: _ClassVar[int]
scenario: _descriptor.FieldDescriptor
KAFKA_FIELD_NUMBER: _ClassVar[int]
kafka: _descriptor.FieldDescriptor
WIRE_NAME_FIELD_NUMBER: _ClassVar[int]
wire_name: _descriptor.FieldDescriptor
INGEST_FIELD_NUMBER: _ClassVar[int]
ingest: _descriptor.FieldDescriptor
ACCESS_FIELD_NUMBER: _ClassVar[int]
access: _descriptor.FieldDescriptor

class FieldRules(_message.Message):
    __slots__ = ("required", "min", "max", "allowed_values", "pattern", "max_len", "max_items", "core", "unit", "server_filled")
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    MAX_LEN_FIELD_NUMBER: _ClassVar[int]
    MAX_ITEMS_FIELD_NUMBER: _ClassVar[int]
    CORE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SERVER_FILLED_FIELD_NUMBER: _ClassVar[int]
    required: bool
    min: float
    max: float
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    pattern: str
    max_len: int
    max_items: int
    core: bool
    unit: str
    server_filled: bool
    def __init__(self, required: _Optional[bool] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., allowed_values: _Optional[_Iterable[str]] = ..., pattern: _Optional[str] = ..., max_len: _Optional[int] = ..., max_items: _Optional[int] = ..., core: _Optional[bool] = ..., unit: _Optional[str] = ..., server_filled: _Optional[bool] = ...) -> None: ...

class ScenarioInfo(_message.Message):
    __slots__ = ("type", "display_name", "description", "recommended_actions", "free_form")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    FREE_FORM_FIELD_NUMBER: _ClassVar[int]
    type: str
    display_name: str
    description: str
    recommended_actions: _containers.RepeatedScalarFieldContainer[str]
    free_form: bool
    def __init__(self, type: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., recommended_actions: _Optional[_Iterable[str]] = ..., free_form: _Optional[bool] = ...) -> None: ...

class KafkaRouting(_message.Message):
    __slots__ = ("topic_template", "key_field", "schema_version")
    TOPIC_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    topic_template: str
    key_field: str
    schema_version: str
    def __init__(self, topic_template: _Optional[str] = ..., key_field: _Optional[str] = ..., schema_version: _Optional[str] = ...) -> None: ...

from google.api import annotations_pb2 as _annotations_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from recommender.options.v1 import options_pb2 as _options_pb2
from recommender.v1 import behavior_pb2 as _behavior_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FieldType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FIELD_TYPE_UNSPECIFIED: _ClassVar[FieldType]
    FIELD_TYPE_INTEGER: _ClassVar[FieldType]
    FIELD_TYPE_NUMBER: _ClassVar[FieldType]
    FIELD_TYPE_STRING: _ClassVar[FieldType]
    FIELD_TYPE_BOOLEAN: _ClassVar[FieldType]
    FIELD_TYPE_ARRAY: _ClassVar[FieldType]
    FIELD_TYPE_OBJECT: _ClassVar[FieldType]
FIELD_TYPE_UNSPECIFIED: FieldType
FIELD_TYPE_INTEGER: FieldType
FIELD_TYPE_NUMBER: FieldType
FIELD_TYPE_STRING: FieldType
FIELD_TYPE_BOOLEAN: FieldType
FIELD_TYPE_ARRAY: FieldType
FIELD_TYPE_OBJECT: FieldType

class FieldSpec(_message.Message):
    __slots__ = ("field_name", "field_type", "required", "description", "min_value", "max_value", "allowed_values", "unit")
    FIELD_NAME_FIELD_NUMBER: _ClassVar[int]
    FIELD_TYPE_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    MIN_VALUE_FIELD_NUMBER: _ClassVar[int]
    MAX_VALUE_FIELD_NUMBER: _ClassVar[int]
    ALLOWED_VALUES_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    field_name: str
    field_type: FieldType
    required: bool
    description: str
    min_value: float
    max_value: float
    allowed_values: _containers.RepeatedScalarFieldContainer[str]
    unit: str
    def __init__(self, field_name: _Optional[str] = ..., field_type: _Optional[_Union[FieldType, str]] = ..., required: _Optional[bool] = ..., description: _Optional[str] = ..., min_value: _Optional[float] = ..., max_value: _Optional[float] = ..., allowed_values: _Optional[_Iterable[str]] = ..., unit: _Optional[str] = ...) -> None: ...

class TrackingConfig(_message.Message):
    __slots__ = ("tenant_id", "scenario_id", "scenario_type", "name", "description", "required_fields", "optional_fields", "recommended_actions", "template_id", "is_active", "version", "created_at", "updated_at")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    IS_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_id: str
    scenario_type: str
    name: str
    description: str
    required_fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    optional_fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    recommended_actions: _containers.RepeatedScalarFieldContainer[_behavior_pb2.ActionType]
    template_id: str
    is_active: bool
    version: int
    created_at: int
    updated_at: int
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_id: _Optional[str] = ..., scenario_type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., required_fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., optional_fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., recommended_actions: _Optional[_Iterable[_Union[_behavior_pb2.ActionType, str]]] = ..., template_id: _Optional[str] = ..., is_active: _Optional[bool] = ..., version: _Optional[int] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ...) -> None: ...

class ScenarioTemplate(_message.Message):
    __slots__ = ("template_id", "scenario_type", "name", "description", "data_field", "required_fields", "optional_fields", "recommended_actions")
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELDS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELDS_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_ACTIONS_FIELD_NUMBER: _ClassVar[int]
    template_id: str
    scenario_type: str
    name: str
    description: str
    data_field: str
    required_fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    optional_fields: _containers.RepeatedCompositeFieldContainer[FieldSpec]
    recommended_actions: _containers.RepeatedScalarFieldContainer[_behavior_pb2.ActionType]
    def __init__(self, template_id: _Optional[str] = ..., scenario_type: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., data_field: _Optional[str] = ..., required_fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., optional_fields: _Optional[_Iterable[_Union[FieldSpec, _Mapping]]] = ..., recommended_actions: _Optional[_Iterable[_Union[_behavior_pb2.ActionType, str]]] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[ScenarioTemplate]
    def __init__(self, templates: _Optional[_Iterable[_Union[ScenarioTemplate, _Mapping]]] = ...) -> None: ...

class CreateTrackingConfigFromTemplateRequest(_message.Message):
    __slots__ = ("tenant_id", "scenario_id", "template_id", "name", "description")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_id: str
    template_id: str
    name: str
    description: str
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_id: _Optional[str] = ..., template_id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CreateTrackingConfigFromTemplateResponse(_message.Message):
    __slots__ = ("success", "message", "config")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    config: TrackingConfig
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., config: _Optional[_Union[TrackingConfig, _Mapping]] = ...) -> None: ...

class CreateTrackingConfigRequest(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: TrackingConfig
    def __init__(self, config: _Optional[_Union[TrackingConfig, _Mapping]] = ...) -> None: ...

class CreateTrackingConfigResponse(_message.Message):
    __slots__ = ("success", "message", "config")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    config: TrackingConfig
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., config: _Optional[_Union[TrackingConfig, _Mapping]] = ...) -> None: ...

class GetTrackingConfigRequest(_message.Message):
    __slots__ = ("tenant_id", "scenario_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_id: _Optional[str] = ...) -> None: ...

class GetTrackingConfigResponse(_message.Message):
    __slots__ = ("config",)
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    config: TrackingConfig
    def __init__(self, config: _Optional[_Union[TrackingConfig, _Mapping]] = ...) -> None: ...

class ListTrackingConfigsRequest(_message.Message):
    __slots__ = ("tenant_id", "scenario_type", "include_inactive")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_TYPE_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_INACTIVE_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_type: str
    include_inactive: bool
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_type: _Optional[str] = ..., include_inactive: _Optional[bool] = ...) -> None: ...

class ListTrackingConfigsResponse(_message.Message):
    __slots__ = ("configs", "total")
    CONFIGS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    configs: _containers.RepeatedCompositeFieldContainer[TrackingConfig]
    total: int
    def __init__(self, configs: _Optional[_Iterable[_Union[TrackingConfig, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class UpdateTrackingConfigRequest(_message.Message):
    __slots__ = ("tenant_id", "scenario_id", "config", "update_mask")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_id: str
    config: TrackingConfig
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_id: _Optional[str] = ..., config: _Optional[_Union[TrackingConfig, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateTrackingConfigResponse(_message.Message):
    __slots__ = ("success", "message", "config")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    config: TrackingConfig
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., config: _Optional[_Union[TrackingConfig, _Mapping]] = ...) -> None: ...

class DeleteTrackingConfigRequest(_message.Message):
    __slots__ = ("tenant_id", "scenario_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    SCENARIO_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    scenario_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., scenario_id: _Optional[str] = ...) -> None: ...

class DeleteTrackingConfigResponse(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

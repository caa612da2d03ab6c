import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WhoAmIRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WhoAmIResponse(_message.Message):
    __slots__ = ("auth_required", "key_id", "name", "role")
    AUTH_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    auth_required: bool
    key_id: str
    name: str
    role: str
    def __init__(self, auth_required: _Optional[bool] = ..., key_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class GetCatalogRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CatalogProduct(_message.Message):
    __slots__ = ("product_id", "name", "category", "risk_rating")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    RISK_RATING_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    category: str
    risk_rating: int
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., category: _Optional[str] = ..., risk_rating: _Optional[int] = ...) -> None: ...

class Catalog(_message.Message):
    __slots__ = ("model_version", "products", "channels", "segments", "income_bands", "regions", "customers")
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    INCOME_BANDS_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    model_version: str
    products: _containers.RepeatedCompositeFieldContainer[CatalogProduct]
    channels: _containers.RepeatedScalarFieldContainer[str]
    segments: _containers.RepeatedScalarFieldContainer[str]
    income_bands: _containers.RepeatedScalarFieldContainer[str]
    regions: _containers.RepeatedScalarFieldContainer[str]
    customers: int
    def __init__(self, model_version: _Optional[str] = ..., products: _Optional[_Iterable[_Union[CatalogProduct, _Mapping]]] = ..., channels: _Optional[_Iterable[str]] = ..., segments: _Optional[_Iterable[str]] = ..., income_bands: _Optional[_Iterable[str]] = ..., regions: _Optional[_Iterable[str]] = ..., customers: _Optional[int] = ...) -> None: ...

class ListModelVersionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ModelMetric(_message.Message):
    __slots__ = ("name", "value", "baseline")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    BASELINE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    baseline: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., baseline: _Optional[float] = ...) -> None: ...

class ModelVersionInfo(_message.Message):
    __slots__ = ("version", "family", "create_time", "run_id", "aliases", "metrics")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    version: int
    family: str
    create_time: _timestamp_pb2.Timestamp
    run_id: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    metrics: _containers.RepeatedCompositeFieldContainer[ModelMetric]
    def __init__(self, version: _Optional[int] = ..., family: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., run_id: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., metrics: _Optional[_Iterable[_Union[ModelMetric, _Mapping]]] = ...) -> None: ...

class ListModelVersionsResponse(_message.Message):
    __slots__ = ("registered_model", "versions", "serving_version")
    REGISTERED_MODEL_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SERVING_VERSION_FIELD_NUMBER: _ClassVar[int]
    registered_model: str
    versions: _containers.RepeatedCompositeFieldContainer[ModelVersionInfo]
    serving_version: str
    def __init__(self, registered_model: _Optional[str] = ..., versions: _Optional[_Iterable[_Union[ModelVersionInfo, _Mapping]]] = ..., serving_version: _Optional[str] = ...) -> None: ...

class ListDecisionsRequest(_message.Message):
    __slots__ = ("customer_id", "since", "limit")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    since: _timestamp_pb2.Timestamp
    limit: int
    def __init__(self, customer_id: _Optional[str] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., limit: _Optional[int] = ...) -> None: ...

class DecisionReason(_message.Message):
    __slots__ = ("code", "text")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    code: str
    text: str
    def __init__(self, code: _Optional[str] = ..., text: _Optional[str] = ...) -> None: ...

class DecisionItem(_message.Message):
    __slots__ = ("rank", "product_id", "name", "score", "reasons", "offer_id")
    RANK_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    rank: int
    product_id: str
    name: str
    score: float
    reasons: _containers.RepeatedCompositeFieldContainer[DecisionReason]
    offer_id: str
    def __init__(self, rank: _Optional[int] = ..., product_id: _Optional[str] = ..., name: _Optional[str] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[_Union[DecisionReason, _Mapping]]] = ..., offer_id: _Optional[str] = ...) -> None: ...

class RuleRemoval(_message.Message):
    __slots__ = ("rule", "product_ids")
    RULE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_IDS_FIELD_NUMBER: _ClassVar[int]
    rule: str
    product_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, rule: _Optional[str] = ..., product_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("request_id", "time", "channel", "model_version", "items", "removed", "unknown_customer", "experiment_id", "arm")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    time: _timestamp_pb2.Timestamp
    channel: str
    model_version: str
    items: _containers.RepeatedCompositeFieldContainer[DecisionItem]
    removed: _containers.RepeatedCompositeFieldContainer[RuleRemoval]
    unknown_customer: bool
    experiment_id: str
    arm: str
    def __init__(self, request_id: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., channel: _Optional[str] = ..., model_version: _Optional[str] = ..., items: _Optional[_Iterable[_Union[DecisionItem, _Mapping]]] = ..., removed: _Optional[_Iterable[_Union[RuleRemoval, _Mapping]]] = ..., unknown_customer: _Optional[bool] = ..., experiment_id: _Optional[str] = ..., arm: _Optional[str] = ...) -> None: ...

class ListDecisionsResponse(_message.Message):
    __slots__ = ("customer_id", "decisions")
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    def __init__(self, customer_id: _Optional[str] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ...) -> None: ...

import datetime

from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OfferStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OFFER_STATUS_UNSPECIFIED: _ClassVar[OfferStatus]
    OFFER_STATUS_DRAFT: _ClassVar[OfferStatus]
    OFFER_STATUS_ACTIVE: _ClassVar[OfferStatus]
    OFFER_STATUS_PAUSED: _ClassVar[OfferStatus]
    OFFER_STATUS_ENDED: _ClassVar[OfferStatus]

class VolumeEvent(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VOLUME_EVENT_UNSPECIFIED: _ClassVar[VolumeEvent]
    VOLUME_EVENT_IMPRESSION: _ClassVar[VolumeEvent]
    VOLUME_EVENT_PURCHASE: _ClassVar[VolumeEvent]
OFFER_STATUS_UNSPECIFIED: OfferStatus
OFFER_STATUS_DRAFT: OfferStatus
OFFER_STATUS_ACTIVE: OfferStatus
OFFER_STATUS_PAUSED: OfferStatus
OFFER_STATUS_ENDED: OfferStatus
VOLUME_EVENT_UNSPECIFIED: VolumeEvent
VOLUME_EVENT_IMPRESSION: VolumeEvent
VOLUME_EVENT_PURCHASE: VolumeEvent

class OfferTarget(_message.Message):
    __slots__ = ("segments", "age_min", "age_max", "income_bands", "regions", "min_risk_tolerance", "has_customer_list", "customer_ids", "customer_count")
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    AGE_MIN_FIELD_NUMBER: _ClassVar[int]
    AGE_MAX_FIELD_NUMBER: _ClassVar[int]
    INCOME_BANDS_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MIN_RISK_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    HAS_CUSTOMER_LIST_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_IDS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_COUNT_FIELD_NUMBER: _ClassVar[int]
    segments: _containers.RepeatedScalarFieldContainer[str]
    age_min: int
    age_max: int
    income_bands: _containers.RepeatedScalarFieldContainer[str]
    regions: _containers.RepeatedScalarFieldContainer[str]
    min_risk_tolerance: int
    has_customer_list: bool
    customer_ids: _containers.RepeatedScalarFieldContainer[str]
    customer_count: int
    def __init__(self, segments: _Optional[_Iterable[str]] = ..., age_min: _Optional[int] = ..., age_max: _Optional[int] = ..., income_bands: _Optional[_Iterable[str]] = ..., regions: _Optional[_Iterable[str]] = ..., min_risk_tolerance: _Optional[int] = ..., has_customer_list: _Optional[bool] = ..., customer_ids: _Optional[_Iterable[str]] = ..., customer_count: _Optional[int] = ...) -> None: ...

class FrequencyCap(_message.Message):
    __slots__ = ("impressions", "days")
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    impressions: int
    days: int
    def __init__(self, impressions: _Optional[int] = ..., days: _Optional[int] = ...) -> None: ...

class Offer(_message.Message):
    __slots__ = ("id", "name", "product_id", "target", "channels", "start_time", "end_time", "boost", "pin", "max_share", "cap", "volume_cap", "volume_event", "priority", "status", "created_by", "create_time", "updated_by", "update_time", "revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    BOOST_FIELD_NUMBER: _ClassVar[int]
    PIN_FIELD_NUMBER: _ClassVar[int]
    MAX_SHARE_FIELD_NUMBER: _ClassVar[int]
    CAP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_CAP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_EVENT_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    product_id: str
    target: OfferTarget
    channels: _containers.RepeatedScalarFieldContainer[str]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    boost: float
    pin: int
    max_share: float
    cap: FrequencyCap
    volume_cap: int
    volume_event: VolumeEvent
    priority: int
    status: OfferStatus
    created_by: str
    create_time: _timestamp_pb2.Timestamp
    updated_by: str
    update_time: _timestamp_pb2.Timestamp
    revision: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., product_id: _Optional[str] = ..., target: _Optional[_Union[OfferTarget, _Mapping]] = ..., channels: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., boost: _Optional[float] = ..., pin: _Optional[int] = ..., max_share: _Optional[float] = ..., cap: _Optional[_Union[FrequencyCap, _Mapping]] = ..., volume_cap: _Optional[int] = ..., volume_event: _Optional[_Union[VolumeEvent, str]] = ..., priority: _Optional[int] = ..., status: _Optional[_Union[OfferStatus, str]] = ..., created_by: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class CreateOfferRequest(_message.Message):
    __slots__ = ("offer",)
    OFFER_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ...) -> None: ...

class UpdateOfferRequest(_message.Message):
    __slots__ = ("offer_ref", "offer", "update_mask", "expected_revision")
    OFFER_REF_FIELD_NUMBER: _ClassVar[int]
    OFFER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    offer_ref: str
    offer: Offer
    update_mask: _field_mask_pb2.FieldMask
    expected_revision: int
    def __init__(self, offer_ref: _Optional[str] = ..., offer: _Optional[_Union[Offer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class OfferChange(_message.Message):
    __slots__ = ("offer", "warnings")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

class GetOfferRequest(_message.Message):
    __slots__ = ("offer_ref", "include_history")
    OFFER_REF_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    offer_ref: str
    include_history: bool
    def __init__(self, offer_ref: _Optional[str] = ..., include_history: _Optional[bool] = ...) -> None: ...

class OfferFieldChange(_message.Message):
    __slots__ = ("field", "before", "after")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    BEFORE_FIELD_NUMBER: _ClassVar[int]
    AFTER_FIELD_NUMBER: _ClassVar[int]
    field: str
    before: str
    after: str
    def __init__(self, field: _Optional[str] = ..., before: _Optional[str] = ..., after: _Optional[str] = ...) -> None: ...

class OfferAuditEntry(_message.Message):
    __slots__ = ("action", "actor", "time", "changes")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    time: _timestamp_pb2.Timestamp
    changes: _containers.RepeatedCompositeFieldContainer[OfferFieldChange]
    def __init__(self, action: _Optional[str] = ..., actor: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., changes: _Optional[_Iterable[_Union[OfferFieldChange, _Mapping]]] = ...) -> None: ...

class GetOfferResponse(_message.Message):
    __slots__ = ("offer", "history")
    OFFER_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    offer: Offer
    history: _containers.RepeatedCompositeFieldContainer[OfferAuditEntry]
    def __init__(self, offer: _Optional[_Union[Offer, _Mapping]] = ..., history: _Optional[_Iterable[_Union[OfferAuditEntry, _Mapping]]] = ...) -> None: ...

class ListOffersRequest(_message.Message):
    __slots__ = ("statuses", "include_stats")
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_STATS_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[OfferStatus]
    include_stats: bool
    def __init__(self, statuses: _Optional[_Iterable[_Union[OfferStatus, str]]] = ..., include_stats: _Optional[bool] = ...) -> None: ...

class ListOffersResponse(_message.Message):
    __slots__ = ("offers", "stats")
    OFFERS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    offers: _containers.RepeatedCompositeFieldContainer[Offer]
    stats: _containers.RepeatedCompositeFieldContainer[OfferStats]
    def __init__(self, offers: _Optional[_Iterable[_Union[Offer, _Mapping]]] = ..., stats: _Optional[_Iterable[_Union[OfferStats, _Mapping]]] = ...) -> None: ...

class OfferStatusRequest(_message.Message):
    __slots__ = ("offer_ref", "expected_revision")
    OFFER_REF_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    offer_ref: str
    expected_revision: int
    def __init__(self, offer_ref: _Optional[str] = ..., expected_revision: _Optional[int] = ...) -> None: ...

class GetOfferStatsRequest(_message.Message):
    __slots__ = ("offer_ref", "include_days")
    OFFER_REF_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_DAYS_FIELD_NUMBER: _ClassVar[int]
    offer_ref: str
    include_days: bool
    def __init__(self, offer_ref: _Optional[str] = ..., include_days: _Optional[bool] = ...) -> None: ...

class OfferChannelStats(_message.Message):
    __slots__ = ("channel", "served", "impressions", "clicks", "purchases", "click_through_rate", "conversion_rate")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    CLICK_THROUGH_RATE_FIELD_NUMBER: _ClassVar[int]
    CONVERSION_RATE_FIELD_NUMBER: _ClassVar[int]
    channel: str
    served: int
    impressions: int
    clicks: int
    purchases: int
    click_through_rate: float
    conversion_rate: float
    def __init__(self, channel: _Optional[str] = ..., served: _Optional[int] = ..., impressions: _Optional[int] = ..., clicks: _Optional[int] = ..., purchases: _Optional[int] = ..., click_through_rate: _Optional[float] = ..., conversion_rate: _Optional[float] = ...) -> None: ...

class OfferStats(_message.Message):
    __slots__ = ("offer_id", "name", "channels", "total", "days", "caps")
    OFFER_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    CAPS_FIELD_NUMBER: _ClassVar[int]
    offer_id: str
    name: str
    channels: _containers.RepeatedCompositeFieldContainer[OfferChannelStats]
    total: OfferChannelStats
    days: _containers.RepeatedCompositeFieldContainer[OfferDayStats]
    caps: OfferCapUse
    def __init__(self, offer_id: _Optional[str] = ..., name: _Optional[str] = ..., channels: _Optional[_Iterable[_Union[OfferChannelStats, _Mapping]]] = ..., total: _Optional[_Union[OfferChannelStats, _Mapping]] = ..., days: _Optional[_Iterable[_Union[OfferDayStats, _Mapping]]] = ..., caps: _Optional[_Union[OfferCapUse, _Mapping]] = ...) -> None: ...

class OfferDayStats(_message.Message):
    __slots__ = ("day", "served", "impressions", "clicks", "purchases")
    DAY_FIELD_NUMBER: _ClassVar[int]
    SERVED_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    day: str
    served: int
    impressions: int
    clicks: int
    purchases: int
    def __init__(self, day: _Optional[str] = ..., served: _Optional[int] = ..., impressions: _Optional[int] = ..., clicks: _Optional[int] = ..., purchases: _Optional[int] = ...) -> None: ...

class OfferCapUse(_message.Message):
    __slots__ = ("volume_cap", "volume_used", "customers_in_window", "customers_at_cap")
    VOLUME_CAP_FIELD_NUMBER: _ClassVar[int]
    VOLUME_USED_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_AT_CAP_FIELD_NUMBER: _ClassVar[int]
    volume_cap: int
    volume_used: int
    customers_in_window: int
    customers_at_cap: int
    def __init__(self, volume_cap: _Optional[int] = ..., volume_used: _Optional[int] = ..., customers_in_window: _Optional[int] = ..., customers_at_cap: _Optional[int] = ...) -> None: ...

class OfferReach(_message.Message):
    __slots__ = ("customers", "targeted", "receivable", "blocked")
    class BlockedEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    TARGETED_FIELD_NUMBER: _ClassVar[int]
    RECEIVABLE_FIELD_NUMBER: _ClassVar[int]
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    customers: int
    targeted: int
    receivable: int
    blocked: _containers.ScalarMap[str, int]
    def __init__(self, customers: _Optional[int] = ..., targeted: _Optional[int] = ..., receivable: _Optional[int] = ..., blocked: _Optional[_Mapping[str, int]] = ...) -> None: ...

class OfferPreview(_message.Message):
    __slots__ = ("reach", "warnings")
    REACH_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    reach: OfferReach
    warnings: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, reach: _Optional[_Union[OfferReach, _Mapping]] = ..., warnings: _Optional[_Iterable[str]] = ...) -> None: ...

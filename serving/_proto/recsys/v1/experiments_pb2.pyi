import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArmShare(_message.Message):
    __slots__ = ("name", "share")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    name: str
    share: float
    def __init__(self, name: _Optional[str] = ..., share: _Optional[float] = ...) -> None: ...

class Experiment(_message.Message):
    __slots__ = ("id", "name", "arms", "channels", "start_at", "end_at", "challenger", "control_policy", "attribution_days", "status", "concluded", "created_by", "created_at", "updated_by", "updated_at", "revision")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    CHALLENGER_FIELD_NUMBER: _ClassVar[int]
    CONTROL_POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CONCLUDED_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_BY_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    arms: _containers.RepeatedCompositeFieldContainer[ArmShare]
    channels: _containers.RepeatedScalarFieldContainer[str]
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    challenger: str
    control_policy: str
    attribution_days: float
    status: str
    concluded: str
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_by: str
    updated_at: _timestamp_pb2.Timestamp
    revision: int
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[ArmShare, _Mapping]]] = ..., channels: _Optional[_Iterable[str]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., challenger: _Optional[str] = ..., control_policy: _Optional[str] = ..., attribution_days: _Optional[float] = ..., status: _Optional[str] = ..., concluded: _Optional[str] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_by: _Optional[str] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class CreateExperimentRequest(_message.Message):
    __slots__ = ("name", "arms", "channels", "start_at", "end_at", "challenger", "control_policy", "attribution_days")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    START_AT_FIELD_NUMBER: _ClassVar[int]
    END_AT_FIELD_NUMBER: _ClassVar[int]
    CHALLENGER_FIELD_NUMBER: _ClassVar[int]
    CONTROL_POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    name: str
    arms: _containers.RepeatedCompositeFieldContainer[ArmShare]
    channels: _containers.RepeatedScalarFieldContainer[str]
    start_at: _timestamp_pb2.Timestamp
    end_at: _timestamp_pb2.Timestamp
    challenger: str
    control_policy: str
    attribution_days: float
    def __init__(self, name: _Optional[str] = ..., arms: _Optional[_Iterable[_Union[ArmShare, _Mapping]]] = ..., channels: _Optional[_Iterable[str]] = ..., start_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., challenger: _Optional[str] = ..., control_policy: _Optional[str] = ..., attribution_days: _Optional[float] = ...) -> None: ...

class ExperimentRef(_message.Message):
    __slots__ = ("experiment_ref",)
    EXPERIMENT_REF_FIELD_NUMBER: _ClassVar[int]
    experiment_ref: str
    def __init__(self, experiment_ref: _Optional[str] = ...) -> None: ...

class AuditEntry(_message.Message):
    __slots__ = ("action", "actor", "at", "before_json", "after_json", "note")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    BEFORE_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JSON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    action: str
    actor: str
    at: _timestamp_pb2.Timestamp
    before_json: str
    after_json: str
    note: str
    def __init__(self, action: _Optional[str] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., before_json: _Optional[str] = ..., after_json: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class GetExperimentResponse(_message.Message):
    __slots__ = ("experiment", "history")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    experiment: Experiment
    history: _containers.RepeatedCompositeFieldContainer[AuditEntry]
    def __init__(self, experiment: _Optional[_Union[Experiment, _Mapping]] = ..., history: _Optional[_Iterable[_Union[AuditEntry, _Mapping]]] = ...) -> None: ...

class ListExperimentsRequest(_message.Message):
    __slots__ = ("statuses",)
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    statuses: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, statuses: _Optional[_Iterable[str]] = ...) -> None: ...

class ListExperimentsResponse(_message.Message):
    __slots__ = ("experiments",)
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedCompositeFieldContainer[Experiment]
    def __init__(self, experiments: _Optional[_Iterable[_Union[Experiment, _Mapping]]] = ...) -> None: ...

class Lift(_message.Message):
    __slots__ = ("absolute", "ci_low", "ci_high", "relative", "relative_ci_low", "relative_ci_high", "p_value", "sequential_p_value", "sequential_significant")
    ABSOLUTE_FIELD_NUMBER: _ClassVar[int]
    CI_LOW_FIELD_NUMBER: _ClassVar[int]
    CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_CI_LOW_FIELD_NUMBER: _ClassVar[int]
    RELATIVE_CI_HIGH_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    SEQUENTIAL_P_VALUE_FIELD_NUMBER: _ClassVar[int]
    SEQUENTIAL_SIGNIFICANT_FIELD_NUMBER: _ClassVar[int]
    absolute: float
    ci_low: float
    ci_high: float
    relative: float
    relative_ci_low: float
    relative_ci_high: float
    p_value: float
    sequential_p_value: float
    sequential_significant: bool
    def __init__(self, absolute: _Optional[float] = ..., ci_low: _Optional[float] = ..., ci_high: _Optional[float] = ..., relative: _Optional[float] = ..., relative_ci_low: _Optional[float] = ..., relative_ci_high: _Optional[float] = ..., p_value: _Optional[float] = ..., sequential_p_value: _Optional[float] = ..., sequential_significant: _Optional[bool] = ...) -> None: ...

class ArmReport(_message.Message):
    __slots__ = ("arm", "share", "model_versions", "assigned", "exposed", "impressions", "clicks", "ctr", "purchases", "purchase_rate", "purchase_rate_exposed", "suitability_violations", "fallback_share", "latency_p99_ms", "lift", "answers", "value", "value_per_1000_answers", "value_per_1000_low", "value_per_1000_high")
    ARM_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSIONS_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_FIELD_NUMBER: _ClassVar[int]
    EXPOSED_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    CLICKS_FIELD_NUMBER: _ClassVar[int]
    CTR_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_RATE_FIELD_NUMBER: _ClassVar[int]
    PURCHASE_RATE_EXPOSED_FIELD_NUMBER: _ClassVar[int]
    SUITABILITY_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    FALLBACK_SHARE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    LIFT_FIELD_NUMBER: _ClassVar[int]
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    VALUE_PER_1000_ANSWERS_FIELD_NUMBER: _ClassVar[int]
    VALUE_PER_1000_LOW_FIELD_NUMBER: _ClassVar[int]
    VALUE_PER_1000_HIGH_FIELD_NUMBER: _ClassVar[int]
    arm: str
    share: float
    model_versions: _containers.RepeatedScalarFieldContainer[str]
    assigned: int
    exposed: int
    impressions: int
    clicks: int
    ctr: float
    purchases: int
    purchase_rate: float
    purchase_rate_exposed: float
    suitability_violations: int
    fallback_share: float
    latency_p99_ms: float
    lift: Lift
    answers: int
    value: float
    value_per_1000_answers: float
    value_per_1000_low: float
    value_per_1000_high: float
    def __init__(self, arm: _Optional[str] = ..., share: _Optional[float] = ..., model_versions: _Optional[_Iterable[str]] = ..., assigned: _Optional[int] = ..., exposed: _Optional[int] = ..., impressions: _Optional[int] = ..., clicks: _Optional[int] = ..., ctr: _Optional[float] = ..., purchases: _Optional[int] = ..., purchase_rate: _Optional[float] = ..., purchase_rate_exposed: _Optional[float] = ..., suitability_violations: _Optional[int] = ..., fallback_share: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ..., lift: _Optional[_Union[Lift, _Mapping]] = ..., answers: _Optional[int] = ..., value: _Optional[float] = ..., value_per_1000_answers: _Optional[float] = ..., value_per_1000_low: _Optional[float] = ..., value_per_1000_high: _Optional[float] = ...) -> None: ...

class SampleRatio(_message.Message):
    __slots__ = ("chi2", "p_value", "flagged")
    CHI2_FIELD_NUMBER: _ClassVar[int]
    P_VALUE_FIELD_NUMBER: _ClassVar[int]
    FLAGGED_FIELD_NUMBER: _ClassVar[int]
    chi2: float
    p_value: float
    flagged: bool
    def __init__(self, chi2: _Optional[float] = ..., p_value: _Optional[float] = ..., flagged: _Optional[bool] = ...) -> None: ...

class ReportPoint(_message.Message):
    __slots__ = ("at", "arm", "customers", "rate", "low", "high")
    AT_FIELD_NUMBER: _ClassVar[int]
    ARM_FIELD_NUMBER: _ClassVar[int]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    LOW_FIELD_NUMBER: _ClassVar[int]
    HIGH_FIELD_NUMBER: _ClassVar[int]
    at: str
    arm: str
    customers: int
    rate: float
    low: float
    high: float
    def __init__(self, at: _Optional[str] = ..., arm: _Optional[str] = ..., customers: _Optional[int] = ..., rate: _Optional[float] = ..., low: _Optional[float] = ..., high: _Optional[float] = ...) -> None: ...

class ExperimentReport(_message.Message):
    __slots__ = ("experiment_id", "name", "status", "at", "attribution_days", "arms", "srm", "series", "promotion_problems")
    EXPERIMENT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_DAYS_FIELD_NUMBER: _ClassVar[int]
    ARMS_FIELD_NUMBER: _ClassVar[int]
    SRM_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    PROMOTION_PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    experiment_id: str
    name: str
    status: str
    at: str
    attribution_days: float
    arms: _containers.RepeatedCompositeFieldContainer[ArmReport]
    srm: SampleRatio
    series: _containers.RepeatedCompositeFieldContainer[ReportPoint]
    promotion_problems: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, experiment_id: _Optional[str] = ..., name: _Optional[str] = ..., status: _Optional[str] = ..., at: _Optional[str] = ..., attribution_days: _Optional[float] = ..., arms: _Optional[_Iterable[_Union[ArmReport, _Mapping]]] = ..., srm: _Optional[_Union[SampleRatio, _Mapping]] = ..., series: _Optional[_Iterable[_Union[ReportPoint, _Mapping]]] = ..., promotion_problems: _Optional[_Iterable[str]] = ...) -> None: ...

class ConcludeExperimentRequest(_message.Message):
    __slots__ = ("experiment_ref", "promote", "force", "note")
    EXPERIMENT_REF_FIELD_NUMBER: _ClassVar[int]
    PROMOTE_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    experiment_ref: str
    promote: str
    force: bool
    note: str
    def __init__(self, experiment_ref: _Optional[str] = ..., promote: _Optional[str] = ..., force: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class ConcludeExperimentResponse(_message.Message):
    __slots__ = ("experiment", "promoted", "champion_version", "reasons", "report")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    PROMOTED_FIELD_NUMBER: _ClassVar[int]
    CHAMPION_VERSION_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    REPORT_FIELD_NUMBER: _ClassVar[int]
    experiment: Experiment
    promoted: bool
    champion_version: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    report: ExperimentReport
    def __init__(self, experiment: _Optional[_Union[Experiment, _Mapping]] = ..., promoted: _Optional[bool] = ..., champion_version: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., report: _Optional[_Union[ExperimentReport, _Mapping]] = ...) -> None: ...

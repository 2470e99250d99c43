from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ArtifactFile(_message.Message):
    __slots__ = ("path", "size_bytes", "sha256")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    path: str
    size_bytes: int
    sha256: str
    def __init__(self, path: _Optional[str] = ..., size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ...) -> None: ...

class IndexInfo(_message.Message):
    __slots__ = ("factory", "nprobe", "recall_at_100", "recall_k", "recall_at_k", "search_us_per_query", "exact_us_per_query")
    FACTORY_FIELD_NUMBER: _ClassVar[int]
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_100_FIELD_NUMBER: _ClassVar[int]
    RECALL_K_FIELD_NUMBER: _ClassVar[int]
    RECALL_AT_K_FIELD_NUMBER: _ClassVar[int]
    SEARCH_US_PER_QUERY_FIELD_NUMBER: _ClassVar[int]
    EXACT_US_PER_QUERY_FIELD_NUMBER: _ClassVar[int]
    factory: str
    nprobe: int
    recall_at_100: float
    recall_k: int
    recall_at_k: float
    search_us_per_query: float
    exact_us_per_query: float
    def __init__(self, factory: _Optional[str] = ..., nprobe: _Optional[int] = ..., recall_at_100: _Optional[float] = ..., recall_k: _Optional[int] = ..., recall_at_k: _Optional[float] = ..., search_us_per_query: _Optional[float] = ..., exact_us_per_query: _Optional[float] = ...) -> None: ...

class Counts(_message.Message):
    __slots__ = ("items", "users", "events", "profiles", "items_cold", "events_dropped_unknown_item", "events_dropped_unknown_user", "users_without_consent", "users_implicit", "events_implicit_user", "events_without_consent", "sessions_derived", "events_after_reference", "events_live")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    ITEMS_COLD_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_UNKNOWN_ITEM_FIELD_NUMBER: _ClassVar[int]
    EVENTS_DROPPED_UNKNOWN_USER_FIELD_NUMBER: _ClassVar[int]
    USERS_WITHOUT_CONSENT_FIELD_NUMBER: _ClassVar[int]
    USERS_IMPLICIT_FIELD_NUMBER: _ClassVar[int]
    EVENTS_IMPLICIT_USER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_WITHOUT_CONSENT_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_DERIVED_FIELD_NUMBER: _ClassVar[int]
    EVENTS_AFTER_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    EVENTS_LIVE_FIELD_NUMBER: _ClassVar[int]
    items: int
    users: int
    events: int
    profiles: int
    items_cold: int
    events_dropped_unknown_item: int
    events_dropped_unknown_user: int
    users_without_consent: int
    users_implicit: int
    events_implicit_user: int
    events_without_consent: int
    sessions_derived: int
    events_after_reference: int
    events_live: int
    def __init__(self, items: _Optional[int] = ..., users: _Optional[int] = ..., events: _Optional[int] = ..., profiles: _Optional[int] = ..., items_cold: _Optional[int] = ..., events_dropped_unknown_item: _Optional[int] = ..., events_dropped_unknown_user: _Optional[int] = ..., users_without_consent: _Optional[int] = ..., users_implicit: _Optional[int] = ..., events_implicit_user: _Optional[int] = ..., events_without_consent: _Optional[int] = ..., sessions_derived: _Optional[int] = ..., events_after_reference: _Optional[int] = ..., events_live: _Optional[int] = ...) -> None: ...

class BuildParams(_message.Message):
    __slots__ = ("dim", "iterations", "regularization", "seed", "event_weights", "recent_items", "popularity_half_life_days", "reference_time_ms", "value_scale", "timezone", "session_gap_minutes", "default_consent", "item_neighbors", "ease_lambda", "als_alpha", "repurchase_min_gap_days", "repurchase_min_buyers", "affinity_weights", "affinity_half_life_days", "profile_top", "rfm_window_days", "lifecycle_new_days", "lifecycle_active_days", "lifecycle_lapsed_days", "clv_horizon_days", "clv_margin", "clv_annual_discount", "successor_neighbors", "successor_window", "successor_decay", "successor_popularity")
    class EventWeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class AffinityWeightsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    DIM_FIELD_NUMBER: _ClassVar[int]
    ITERATIONS_FIELD_NUMBER: _ClassVar[int]
    REGULARIZATION_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    EVENT_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    RECENT_ITEMS_FIELD_NUMBER: _ClassVar[int]
    POPULARITY_HALF_LIFE_DAYS_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_TIME_MS_FIELD_NUMBER: _ClassVar[int]
    VALUE_SCALE_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    SESSION_GAP_MINUTES_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_CONSENT_FIELD_NUMBER: _ClassVar[int]
    ITEM_NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    EASE_LAMBDA_FIELD_NUMBER: _ClassVar[int]
    ALS_ALPHA_FIELD_NUMBER: _ClassVar[int]
    REPURCHASE_MIN_GAP_DAYS_FIELD_NUMBER: _ClassVar[int]
    REPURCHASE_MIN_BUYERS_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_WEIGHTS_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_HALF_LIFE_DAYS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_TOP_FIELD_NUMBER: _ClassVar[int]
    RFM_WINDOW_DAYS_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_NEW_DAYS_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_ACTIVE_DAYS_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_LAPSED_DAYS_FIELD_NUMBER: _ClassVar[int]
    CLV_HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    CLV_MARGIN_FIELD_NUMBER: _ClassVar[int]
    CLV_ANNUAL_DISCOUNT_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_NEIGHBORS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_DECAY_FIELD_NUMBER: _ClassVar[int]
    SUCCESSOR_POPULARITY_FIELD_NUMBER: _ClassVar[int]
    dim: int
    iterations: int
    regularization: float
    seed: int
    event_weights: _containers.ScalarMap[str, float]
    recent_items: int
    popularity_half_life_days: float
    reference_time_ms: int
    value_scale: str
    timezone: str
    session_gap_minutes: float
    default_consent: bool
    item_neighbors: int
    ease_lambda: float
    als_alpha: float
    repurchase_min_gap_days: float
    repurchase_min_buyers: int
    affinity_weights: _containers.ScalarMap[str, float]
    affinity_half_life_days: float
    profile_top: int
    rfm_window_days: float
    lifecycle_new_days: float
    lifecycle_active_days: float
    lifecycle_lapsed_days: float
    clv_horizon_days: float
    clv_margin: float
    clv_annual_discount: float
    successor_neighbors: int
    successor_window: int
    successor_decay: float
    successor_popularity: float
    def __init__(self, dim: _Optional[int] = ..., iterations: _Optional[int] = ..., regularization: _Optional[float] = ..., seed: _Optional[int] = ..., event_weights: _Optional[_Mapping[str, float]] = ..., recent_items: _Optional[int] = ..., popularity_half_life_days: _Optional[float] = ..., reference_time_ms: _Optional[int] = ..., value_scale: _Optional[str] = ..., timezone: _Optional[str] = ..., session_gap_minutes: _Optional[float] = ..., default_consent: _Optional[bool] = ..., item_neighbors: _Optional[int] = ..., ease_lambda: _Optional[float] = ..., als_alpha: _Optional[float] = ..., repurchase_min_gap_days: _Optional[float] = ..., repurchase_min_buyers: _Optional[int] = ..., affinity_weights: _Optional[_Mapping[str, float]] = ..., affinity_half_life_days: _Optional[float] = ..., profile_top: _Optional[int] = ..., rfm_window_days: _Optional[float] = ..., lifecycle_new_days: _Optional[float] = ..., lifecycle_active_days: _Optional[float] = ..., lifecycle_lapsed_days: _Optional[float] = ..., clv_horizon_days: _Optional[float] = ..., clv_margin: _Optional[float] = ..., clv_annual_discount: _Optional[float] = ..., successor_neighbors: _Optional[int] = ..., successor_window: _Optional[int] = ..., successor_decay: _Optional[float] = ..., successor_popularity: _Optional[float] = ...) -> None: ...

class LifetimeModels(_message.Message):
    __slots__ = ("bgnbd_fitted", "r", "alpha", "a", "b", "gamma_gamma_fitted", "p", "q", "v")
    BGNBD_FITTED_FIELD_NUMBER: _ClassVar[int]
    R_FIELD_NUMBER: _ClassVar[int]
    ALPHA_FIELD_NUMBER: _ClassVar[int]
    A_FIELD_NUMBER: _ClassVar[int]
    B_FIELD_NUMBER: _ClassVar[int]
    GAMMA_GAMMA_FITTED_FIELD_NUMBER: _ClassVar[int]
    P_FIELD_NUMBER: _ClassVar[int]
    Q_FIELD_NUMBER: _ClassVar[int]
    V_FIELD_NUMBER: _ClassVar[int]
    bgnbd_fitted: bool
    r: float
    alpha: float
    a: float
    b: float
    gamma_gamma_fitted: bool
    p: float
    q: float
    v: float
    def __init__(self, bgnbd_fitted: _Optional[bool] = ..., r: _Optional[float] = ..., alpha: _Optional[float] = ..., a: _Optional[float] = ..., b: _Optional[float] = ..., gamma_gamma_fitted: _Optional[bool] = ..., p: _Optional[float] = ..., q: _Optional[float] = ..., v: _Optional[float] = ...) -> None: ...

class SegmentCount(_message.Message):
    __slots__ = ("segment", "users")
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    USERS_FIELD_NUMBER: _ClassVar[int]
    segment: str
    users: int
    def __init__(self, segment: _Optional[str] = ..., users: _Optional[int] = ...) -> None: ...

class Manifest(_message.Message):
    __slots__ = ("schema_version", "version", "created_at", "dim", "counts", "params", "index", "files", "categories", "brands", "build_seconds", "profile_layout", "revisit_share", "countries", "age_bands", "lifetime", "segments", "refund_lines", "live_seq", "forgotten_users", "forgotten_seq", "users_rows_forgotten", "events_forgotten", "ranker")
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FILES_FIELD_NUMBER: _ClassVar[int]
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    BUILD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROFILE_LAYOUT_FIELD_NUMBER: _ClassVar[int]
    REVISIT_SHARE_FIELD_NUMBER: _ClassVar[int]
    COUNTRIES_FIELD_NUMBER: _ClassVar[int]
    AGE_BANDS_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_FIELD_NUMBER: _ClassVar[int]
    SEGMENTS_FIELD_NUMBER: _ClassVar[int]
    REFUND_LINES_FIELD_NUMBER: _ClassVar[int]
    LIVE_SEQ_FIELD_NUMBER: _ClassVar[int]
    FORGOTTEN_USERS_FIELD_NUMBER: _ClassVar[int]
    FORGOTTEN_SEQ_FIELD_NUMBER: _ClassVar[int]
    USERS_ROWS_FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    RANKER_FIELD_NUMBER: _ClassVar[int]
    schema_version: int
    version: str
    created_at: str
    dim: int
    counts: Counts
    params: BuildParams
    index: IndexInfo
    files: _containers.RepeatedCompositeFieldContainer[ArtifactFile]
    categories: _containers.RepeatedScalarFieldContainer[str]
    brands: _containers.RepeatedScalarFieldContainer[str]
    build_seconds: float
    profile_layout: int
    revisit_share: float
    countries: _containers.RepeatedScalarFieldContainer[str]
    age_bands: _containers.RepeatedScalarFieldContainer[str]
    lifetime: LifetimeModels
    segments: _containers.RepeatedCompositeFieldContainer[SegmentCount]
    refund_lines: int
    live_seq: int
    forgotten_users: int
    forgotten_seq: int
    users_rows_forgotten: int
    events_forgotten: int
    ranker: RankerInfo
    def __init__(self, schema_version: _Optional[int] = ..., version: _Optional[str] = ..., created_at: _Optional[str] = ..., dim: _Optional[int] = ..., counts: _Optional[_Union[Counts, _Mapping]] = ..., params: _Optional[_Union[BuildParams, _Mapping]] = ..., index: _Optional[_Union[IndexInfo, _Mapping]] = ..., files: _Optional[_Iterable[_Union[ArtifactFile, _Mapping]]] = ..., categories: _Optional[_Iterable[str]] = ..., brands: _Optional[_Iterable[str]] = ..., build_seconds: _Optional[float] = ..., profile_layout: _Optional[int] = ..., revisit_share: _Optional[float] = ..., countries: _Optional[_Iterable[str]] = ..., age_bands: _Optional[_Iterable[str]] = ..., lifetime: _Optional[_Union[LifetimeModels, _Mapping]] = ..., segments: _Optional[_Iterable[_Union[SegmentCount, _Mapping]]] = ..., refund_lines: _Optional[int] = ..., live_seq: _Optional[int] = ..., forgotten_users: _Optional[int] = ..., forgotten_seq: _Optional[int] = ..., users_rows_forgotten: _Optional[int] = ..., events_forgotten: _Optional[int] = ..., ranker: _Optional[_Union[RankerInfo, _Mapping]] = ...) -> None: ...

class RankerInfo(_message.Message):
    __slots__ = ("features_version", "features", "trained", "serves", "verdict", "cut", "shoppers", "lists_train", "lists_validation", "rows", "trees", "leaves", "learning_rate", "min_leaf", "depth", "seconds", "validation_ndcg", "gains")
    class ValidationNdcgEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    class GainsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    FEATURES_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    TRAINED_FIELD_NUMBER: _ClassVar[int]
    SERVES_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    CUT_FIELD_NUMBER: _ClassVar[int]
    SHOPPERS_FIELD_NUMBER: _ClassVar[int]
    LISTS_TRAIN_FIELD_NUMBER: _ClassVar[int]
    LISTS_VALIDATION_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TREES_FIELD_NUMBER: _ClassVar[int]
    LEAVES_FIELD_NUMBER: _ClassVar[int]
    LEARNING_RATE_FIELD_NUMBER: _ClassVar[int]
    MIN_LEAF_FIELD_NUMBER: _ClassVar[int]
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    SECONDS_FIELD_NUMBER: _ClassVar[int]
    VALIDATION_NDCG_FIELD_NUMBER: _ClassVar[int]
    GAINS_FIELD_NUMBER: _ClassVar[int]
    features_version: int
    features: _containers.RepeatedScalarFieldContainer[str]
    trained: bool
    serves: bool
    verdict: str
    cut: str
    shoppers: int
    lists_train: int
    lists_validation: int
    rows: int
    trees: int
    leaves: int
    learning_rate: float
    min_leaf: int
    depth: int
    seconds: float
    validation_ndcg: _containers.ScalarMap[str, float]
    gains: _containers.ScalarMap[str, float]
    def __init__(self, features_version: _Optional[int] = ..., features: _Optional[_Iterable[str]] = ..., trained: _Optional[bool] = ..., serves: _Optional[bool] = ..., verdict: _Optional[str] = ..., cut: _Optional[str] = ..., shoppers: _Optional[int] = ..., lists_train: _Optional[int] = ..., lists_validation: _Optional[int] = ..., rows: _Optional[int] = ..., trees: _Optional[int] = ..., leaves: _Optional[int] = ..., learning_rate: _Optional[float] = ..., min_leaf: _Optional[int] = ..., depth: _Optional[int] = ..., seconds: _Optional[float] = ..., validation_ndcg: _Optional[_Mapping[str, float]] = ..., gains: _Optional[_Mapping[str, float]] = ...) -> None: ...

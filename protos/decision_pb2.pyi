from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class InteractionType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INTERACTION_TYPE_UNSPECIFIED: _ClassVar[InteractionType]
    INTERACTION_TYPE_VIEW: _ClassVar[InteractionType]
    INTERACTION_TYPE_CART: _ClassVar[InteractionType]
    INTERACTION_TYPE_PURCHASE: _ClassVar[InteractionType]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_WEB: _ClassVar[Channel]
    CHANNEL_APP: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_STORE: _ClassVar[Channel]

class Page(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAGE_UNSPECIFIED: _ClassVar[Page]
    PAGE_HOME: _ClassVar[Page]
    PAGE_PRODUCT: _ClassVar[Page]
    PAGE_CART: _ClassVar[Page]
    PAGE_SEARCH: _ClassVar[Page]

class ReasonCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REASON_CODE_UNSPECIFIED: _ClassVar[ReasonCode]
    REASON_CODE_SEARCH_RELEVANCE: _ClassVar[ReasonCode]
    REASON_CODE_ANCHOR_SIMILAR: _ClassVar[ReasonCode]
    REASON_CODE_SESSION_SIMILAR: _ClassVar[ReasonCode]
    REASON_CODE_USER_AFFINITY: _ClassVar[ReasonCode]
    REASON_CODE_POPULAR: _ClassVar[ReasonCode]
    REASON_CODE_UNKNOWN_ITEM: _ClassVar[ReasonCode]
    REASON_CODE_BUY_AGAIN: _ClassVar[ReasonCode]
    REASON_CODE_BRAND_AFFINITY: _ClassVar[ReasonCode]
    REASON_CODE_CATEGORY_AFFINITY: _ClassVar[ReasonCode]
    REASON_CODE_PRICE_FIT: _ClassVar[ReasonCode]
    REASON_CODE_SEGMENT_POPULAR: _ClassVar[ReasonCode]
    REASON_CODE_FRESH: _ClassVar[ReasonCode]
    REASON_CODE_BOUGHT_TOGETHER: _ClassVar[ReasonCode]
    REASON_CODE_VIEWED_TOGETHER: _ClassVar[ReasonCode]
    REASON_CODE_RULE: _ClassVar[ReasonCode]
    REASON_CODE_EXPLORE: _ClassVar[ReasonCode]
INTERACTION_TYPE_UNSPECIFIED: InteractionType
INTERACTION_TYPE_VIEW: InteractionType
INTERACTION_TYPE_CART: InteractionType
INTERACTION_TYPE_PURCHASE: InteractionType
CHANNEL_UNSPECIFIED: Channel
CHANNEL_WEB: Channel
CHANNEL_APP: Channel
CHANNEL_EMAIL: Channel
CHANNEL_STORE: Channel
PAGE_UNSPECIFIED: Page
PAGE_HOME: Page
PAGE_PRODUCT: Page
PAGE_CART: Page
PAGE_SEARCH: Page
REASON_CODE_UNSPECIFIED: ReasonCode
REASON_CODE_SEARCH_RELEVANCE: ReasonCode
REASON_CODE_ANCHOR_SIMILAR: ReasonCode
REASON_CODE_SESSION_SIMILAR: ReasonCode
REASON_CODE_USER_AFFINITY: ReasonCode
REASON_CODE_POPULAR: ReasonCode
REASON_CODE_UNKNOWN_ITEM: ReasonCode
REASON_CODE_BUY_AGAIN: ReasonCode
REASON_CODE_BRAND_AFFINITY: ReasonCode
REASON_CODE_CATEGORY_AFFINITY: ReasonCode
REASON_CODE_PRICE_FIT: ReasonCode
REASON_CODE_SEGMENT_POPULAR: ReasonCode
REASON_CODE_FRESH: ReasonCode
REASON_CODE_BOUGHT_TOGETHER: ReasonCode
REASON_CODE_VIEWED_TOGETHER: ReasonCode
REASON_CODE_RULE: ReasonCode
REASON_CODE_EXPLORE: ReasonCode

class Interaction(_message.Message):
    __slots__ = ("item_id", "type", "timestamp_ms")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    type: InteractionType
    timestamp_ms: int
    def __init__(self, item_id: _Optional[str] = ..., type: _Optional[_Union[InteractionType, str]] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class Context(_message.Message):
    __slots__ = ("channel", "page", "anchor_item_id", "query", "time_ms", "session_id")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    TIME_MS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    channel: Channel
    page: Page
    anchor_item_id: str
    query: str
    time_ms: int
    session_id: str
    def __init__(self, channel: _Optional[_Union[Channel, str]] = ..., page: _Optional[_Union[Page, str]] = ..., anchor_item_id: _Optional[str] = ..., query: _Optional[str] = ..., time_ms: _Optional[int] = ..., session_id: _Optional[str] = ...) -> None: ...

class Filters(_message.Message):
    __slots__ = ("categories", "brands", "min_price", "max_price", "in_stock_only")
    CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    BRANDS_FIELD_NUMBER: _ClassVar[int]
    MIN_PRICE_FIELD_NUMBER: _ClassVar[int]
    MAX_PRICE_FIELD_NUMBER: _ClassVar[int]
    IN_STOCK_ONLY_FIELD_NUMBER: _ClassVar[int]
    categories: _containers.RepeatedScalarFieldContainer[str]
    brands: _containers.RepeatedScalarFieldContainer[str]
    min_price: float
    max_price: float
    in_stock_only: bool
    def __init__(self, categories: _Optional[_Iterable[str]] = ..., brands: _Optional[_Iterable[str]] = ..., min_price: _Optional[float] = ..., max_price: _Optional[float] = ..., in_stock_only: _Optional[bool] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("user_id", "session", "context", "n", "filters", "request_id", "with_details", "personalization_consent", "no_exploration")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    WITH_DETAILS_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZATION_CONSENT_FIELD_NUMBER: _ClassVar[int]
    NO_EXPLORATION_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    session: _containers.RepeatedCompositeFieldContainer[Interaction]
    context: Context
    n: int
    filters: Filters
    request_id: str
    with_details: bool
    personalization_consent: bool
    no_exploration: bool
    def __init__(self, user_id: _Optional[str] = ..., session: _Optional[_Iterable[_Union[Interaction, _Mapping]]] = ..., context: _Optional[_Union[Context, _Mapping]] = ..., n: _Optional[int] = ..., filters: _Optional[_Union[Filters, _Mapping]] = ..., request_id: _Optional[str] = ..., with_details: _Optional[bool] = ..., personalization_consent: _Optional[bool] = ..., no_exploration: _Optional[bool] = ...) -> None: ...

class Candidate(_message.Message):
    __slots__ = ("item_id", "score")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    score: float
    def __init__(self, item_id: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class RerankRequest(_message.Message):
    __slots__ = ("user_id", "session", "context", "n", "filters", "request_id", "candidates", "with_details", "personalization_consent")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    N_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    WITH_DETAILS_FIELD_NUMBER: _ClassVar[int]
    PERSONALIZATION_CONSENT_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    session: _containers.RepeatedCompositeFieldContainer[Interaction]
    context: Context
    n: int
    filters: Filters
    request_id: str
    candidates: _containers.RepeatedCompositeFieldContainer[Candidate]
    with_details: bool
    personalization_consent: bool
    def __init__(self, user_id: _Optional[str] = ..., session: _Optional[_Iterable[_Union[Interaction, _Mapping]]] = ..., context: _Optional[_Union[Context, _Mapping]] = ..., n: _Optional[int] = ..., filters: _Optional[_Union[Filters, _Mapping]] = ..., request_id: _Optional[str] = ..., candidates: _Optional[_Iterable[_Union[Candidate, _Mapping]]] = ..., with_details: _Optional[bool] = ..., personalization_consent: _Optional[bool] = ...) -> None: ...

class Reason(_message.Message):
    __slots__ = ("code", "text", "kind", "rule")
    CODE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    code: str
    text: str
    kind: ReasonCode
    rule: str
    def __init__(self, code: _Optional[str] = ..., text: _Optional[str] = ..., kind: _Optional[_Union[ReasonCode, str]] = ..., rule: _Optional[str] = ...) -> None: ...

class ScoredItem(_message.Message):
    __slots__ = ("item_id", "score", "reasons", "title", "category", "price")
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    item_id: str
    score: float
    reasons: _containers.RepeatedCompositeFieldContainer[Reason]
    title: str
    category: str
    price: float
    def __init__(self, item_id: _Optional[str] = ..., score: _Optional[float] = ..., reasons: _Optional[_Iterable[_Union[Reason, _Mapping]]] = ..., title: _Optional[str] = ..., category: _Optional[str] = ..., price: _Optional[float] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("items", "version", "request_id", "variant", "rules_version", "anchor_unknown")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ScoredItem]
    version: str
    request_id: str
    variant: str
    rules_version: str
    anchor_unknown: bool
    def __init__(self, items: _Optional[_Iterable[_Union[ScoredItem, _Mapping]]] = ..., version: _Optional[str] = ..., request_id: _Optional[str] = ..., variant: _Optional[str] = ..., rules_version: _Optional[str] = ..., anchor_unknown: _Optional[bool] = ...) -> None: ...

class RerankResponse(_message.Message):
    __slots__ = ("items", "version", "request_id", "variant", "rules_version", "anchor_unknown")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    ANCHOR_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[ScoredItem]
    version: str
    request_id: str
    variant: str
    rules_version: str
    anchor_unknown: bool
    def __init__(self, items: _Optional[_Iterable[_Union[ScoredItem, _Mapping]]] = ..., version: _Optional[str] = ..., request_id: _Optional[str] = ..., variant: _Optional[str] = ..., rules_version: _Optional[str] = ..., anchor_unknown: _Optional[bool] = ...) -> None: ...

class PreviewRulesRequest(_message.Message):
    __slots__ = ("rules_toml", "recommend", "rerank")
    RULES_TOML_FIELD_NUMBER: _ClassVar[int]
    RECOMMEND_FIELD_NUMBER: _ClassVar[int]
    RERANK_FIELD_NUMBER: _ClassVar[int]
    rules_toml: str
    recommend: RecommendRequest
    rerank: RerankRequest
    def __init__(self, rules_toml: _Optional[str] = ..., recommend: _Optional[_Union[RecommendRequest, _Mapping]] = ..., rerank: _Optional[_Union[RerankRequest, _Mapping]] = ...) -> None: ...

class PreviewRulesResponse(_message.Message):
    __slots__ = ("without_rules", "with_rules", "version", "rules_version", "personal", "request_id")
    WITHOUT_RULES_FIELD_NUMBER: _ClassVar[int]
    WITH_RULES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RULES_VERSION_FIELD_NUMBER: _ClassVar[int]
    PERSONAL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    without_rules: _containers.RepeatedCompositeFieldContainer[ScoredItem]
    with_rules: _containers.RepeatedCompositeFieldContainer[ScoredItem]
    version: str
    rules_version: str
    personal: bool
    request_id: str
    def __init__(self, without_rules: _Optional[_Iterable[_Union[ScoredItem, _Mapping]]] = ..., with_rules: _Optional[_Iterable[_Union[ScoredItem, _Mapping]]] = ..., version: _Optional[str] = ..., rules_version: _Optional[str] = ..., personal: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class GetProfileRequest(_message.Message):
    __slots__ = ("user_id", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class Affinity(_message.Message):
    __slots__ = ("name", "weight")
    NAME_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    name: str
    weight: float
    def __init__(self, name: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class Rfm(_message.Message):
    __slots__ = ("recency_days", "frequency", "monetary_total", "monetary_avg", "recency_score", "frequency_score", "monetary_score")
    RECENCY_DAYS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    MONETARY_TOTAL_FIELD_NUMBER: _ClassVar[int]
    MONETARY_AVG_FIELD_NUMBER: _ClassVar[int]
    RECENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_SCORE_FIELD_NUMBER: _ClassVar[int]
    MONETARY_SCORE_FIELD_NUMBER: _ClassVar[int]
    recency_days: float
    frequency: int
    monetary_total: float
    monetary_avg: float
    recency_score: int
    frequency_score: int
    monetary_score: int
    def __init__(self, recency_days: _Optional[float] = ..., frequency: _Optional[int] = ..., monetary_total: _Optional[float] = ..., monetary_avg: _Optional[float] = ..., recency_score: _Optional[int] = ..., frequency_score: _Optional[int] = ..., monetary_score: _Optional[int] = ...) -> None: ...

class LifetimeValue(_message.Message):
    __slots__ = ("expected_purchases", "p_alive", "expected_order_value", "clv", "horizon_days")
    EXPECTED_PURCHASES_FIELD_NUMBER: _ClassVar[int]
    P_ALIVE_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_ORDER_VALUE_FIELD_NUMBER: _ClassVar[int]
    CLV_FIELD_NUMBER: _ClassVar[int]
    HORIZON_DAYS_FIELD_NUMBER: _ClassVar[int]
    expected_purchases: float
    p_alive: float
    expected_order_value: float
    clv: float
    horizon_days: float
    def __init__(self, expected_purchases: _Optional[float] = ..., p_alive: _Optional[float] = ..., expected_order_value: _Optional[float] = ..., clv: _Optional[float] = ..., horizon_days: _Optional[float] = ...) -> None: ...

class Profile(_message.Message):
    __slots__ = ("user_id", "version", "segment", "rfm", "lifetime", "top_categories", "top_brands", "price_position", "price_band", "lifecycle", "preferred_channel", "tags", "last_purchase_ms", "first_seen_ms", "last_seen_ms", "views", "carts", "purchases", "country", "age_band", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SEGMENT_FIELD_NUMBER: _ClassVar[int]
    RFM_FIELD_NUMBER: _ClassVar[int]
    LIFETIME_FIELD_NUMBER: _ClassVar[int]
    TOP_CATEGORIES_FIELD_NUMBER: _ClassVar[int]
    TOP_BRANDS_FIELD_NUMBER: _ClassVar[int]
    PRICE_POSITION_FIELD_NUMBER: _ClassVar[int]
    PRICE_BAND_FIELD_NUMBER: _ClassVar[int]
    LIFECYCLE_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LAST_PURCHASE_MS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_MS_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    CARTS_FIELD_NUMBER: _ClassVar[int]
    PURCHASES_FIELD_NUMBER: _ClassVar[int]
    COUNTRY_FIELD_NUMBER: _ClassVar[int]
    AGE_BAND_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    version: str
    segment: str
    rfm: Rfm
    lifetime: LifetimeValue
    top_categories: _containers.RepeatedCompositeFieldContainer[Affinity]
    top_brands: _containers.RepeatedCompositeFieldContainer[Affinity]
    price_position: float
    price_band: str
    lifecycle: str
    preferred_channel: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    last_purchase_ms: int
    first_seen_ms: int
    last_seen_ms: int
    views: int
    carts: int
    purchases: int
    country: str
    age_band: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., version: _Optional[str] = ..., segment: _Optional[str] = ..., rfm: _Optional[_Union[Rfm, _Mapping]] = ..., lifetime: _Optional[_Union[LifetimeValue, _Mapping]] = ..., top_categories: _Optional[_Iterable[_Union[Affinity, _Mapping]]] = ..., top_brands: _Optional[_Iterable[_Union[Affinity, _Mapping]]] = ..., price_position: _Optional[float] = ..., price_band: _Optional[str] = ..., lifecycle: _Optional[str] = ..., preferred_channel: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., last_purchase_ms: _Optional[int] = ..., first_seen_ms: _Optional[int] = ..., last_seen_ms: _Optional[int] = ..., views: _Optional[int] = ..., carts: _Optional[int] = ..., purchases: _Optional[int] = ..., country: _Optional[str] = ..., age_band: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("event_id", "timestamp_ms", "user_id", "session_id", "item_id", "type", "qty", "price", "channel", "request_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEM_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QTY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    timestamp_ms: int
    user_id: str
    session_id: str
    item_id: str
    type: InteractionType
    qty: float
    price: float
    channel: Channel
    request_id: str
    def __init__(self, event_id: _Optional[str] = ..., timestamp_ms: _Optional[int] = ..., user_id: _Optional[str] = ..., session_id: _Optional[str] = ..., item_id: _Optional[str] = ..., type: _Optional[_Union[InteractionType, str]] = ..., qty: _Optional[float] = ..., price: _Optional[float] = ..., channel: _Optional[_Union[Channel, str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class TrackEventsRequest(_message.Message):
    __slots__ = ("events", "request_id")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    request_id: str
    def __init__(self, events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class TrackEventsResponse(_message.Message):
    __slots__ = ("accepted", "duplicates", "not_stored", "rejected", "request_id")
    class Rejected(_message.Message):
        __slots__ = ("index", "field", "reason")
        INDEX_FIELD_NUMBER: _ClassVar[int]
        FIELD_FIELD_NUMBER: _ClassVar[int]
        REASON_FIELD_NUMBER: _ClassVar[int]
        index: int
        field: str
        reason: str
        def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    NOT_STORED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    not_stored: int
    rejected: _containers.RepeatedCompositeFieldContainer[TrackEventsResponse.Rejected]
    request_id: str
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., not_stored: _Optional[int] = ..., rejected: _Optional[_Iterable[_Union[TrackEventsResponse.Rejected, _Mapping]]] = ..., request_id: _Optional[str] = ...) -> None: ...

class ForgetUserRequest(_message.Message):
    __slots__ = ("user_id", "request_id")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    request_id: str
    def __init__(self, user_id: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class ForgetUserResponse(_message.Message):
    __slots__ = ("live_events_deleted", "already_forgotten", "request_id")
    LIVE_EVENTS_DELETED_FIELD_NUMBER: _ClassVar[int]
    ALREADY_FORGOTTEN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    live_events_deleted: int
    already_forgotten: bool
    request_id: str
    def __init__(self, live_events_deleted: _Optional[int] = ..., already_forgotten: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

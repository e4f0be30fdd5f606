"""Export customer segments into ActiveCampaign lists.

``import ac_segment_export as acx`` gives the whole public API: the typed clients
(:class:`Client`, :class:`AsyncClient`), their options (:class:`ClientOptions`,
:class:`RetryPolicy`, :class:`RateLimits`, :class:`RateLimiter`), the wire models, the error
tree rooted in :class:`ACSegmentExportError`, and :class:`Secret`. The offline emulator lives
in :mod:`ac_segment_export.testing`.
"""

from __future__ import annotations

from ac_segment_export._client import AsyncClient, Client, ClientStats
from ac_segment_export._core.config import DEFAULT_TIMEOUT, ClientOptions, RateLimits, RetryPolicy
from ac_segment_export._core.errors import (
    ACSegmentExportError,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    APIUnreachableError,
    AppHostError,
    AppHostWarning,
    AuthenticationError,
    BadRequestError,
    BulkFailure,
    BulkImportRejectedError,
    ConfigurationError,
    ConsentRequiredError,
    ErrorDetail,
    ExportAbortedError,
    ExportInProgressError,
    FieldMappingError,
    HostNotFoundError,
    MirrorRefusedError,
    MissingColumnError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    PolicyError,
    RateLimitError,
    SecretNotFoundError,
    ServerError,
    ServiceUnavailableError,
    TLSHandshakeError,
    UnprocessableEntityError,
    UnsupportedSourceError,
    WorkspaceError,
)
from ac_segment_export._core.hosts import ApiEndpoint, parse_endpoint
from ac_segment_export._core.ops import Operation
from ac_segment_export._core.pacing import RateLimiter
from ac_segment_export._core.secrets import Secret
from ac_segment_export._core.wire import (
    BatchStatus,
    BulkImportContact,
    BulkImportInfo,
    BulkImportOverview,
    BulkImportQueued,
    Contact,
    ContactInput,
    CustomField,
    DailyImportCount,
    FieldValue,
    FieldValueInput,
    ListMembership,
    MailingList,
    MembershipStatus,
    User,
)
from ac_segment_export._export import (
    AsyncExporter,
    CancelToken,
    Checkpoint,
    CheckpointMismatchError,
    CheckpointState,
    Exporter,
    ExportOptions,
    ExportReport,
    FileCheckpoint,
    MirrorUnsubscribe,
    OutcomeStatus,
    Progress,
    RecordOutcome,
    SyncMeta,
    SyncStateStore,
)
from ac_segment_export._model import (
    DATA_PRIVACY_NOTICE,
    DATA_PRIVACY_TERMS_VERSION,
    Actor,
    Attribute,
    Audience,
    Connection,
    Consent,
    ExportDestination,
    ExportMode,
    FieldMapper,
    FieldMapping,
    FlagTag,
    MappedProfile,
    Rejection,
    ResolvedDestination,
    Role,
    TagRule,
    ValueTag,
)
from ac_segment_export._workspace import (
    RunRecord,
    RunStatus,
    SavedConnection,
    SavedExport,
    Schedule,
    SQLiteSyncState,
    Workspace,
)

__all__ = [
    "DATA_PRIVACY_NOTICE",
    "DATA_PRIVACY_TERMS_VERSION",
    "DEFAULT_TIMEOUT",
    "ACSegmentExportError",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "APIUnreachableError",
    "Actor",
    "ApiEndpoint",
    "AppHostError",
    "AppHostWarning",
    "AsyncClient",
    "AsyncExporter",
    "Attribute",
    "Audience",
    "AuthenticationError",
    "BadRequestError",
    "BatchStatus",
    "BulkFailure",
    "BulkImportContact",
    "BulkImportInfo",
    "BulkImportOverview",
    "BulkImportQueued",
    "BulkImportRejectedError",
    "CancelToken",
    "Checkpoint",
    "CheckpointMismatchError",
    "CheckpointState",
    "Client",
    "ClientOptions",
    "ClientStats",
    "ConfigurationError",
    "Connection",
    "Consent",
    "ConsentRequiredError",
    "Contact",
    "ContactInput",
    "CustomField",
    "DailyImportCount",
    "ErrorDetail",
    "ExportAbortedError",
    "ExportDestination",
    "ExportInProgressError",
    "ExportMode",
    "ExportOptions",
    "ExportReport",
    "Exporter",
    "FieldMapper",
    "FieldMapping",
    "FieldMappingError",
    "FieldValue",
    "FieldValueInput",
    "FileCheckpoint",
    "FlagTag",
    "HostNotFoundError",
    "ListMembership",
    "MailingList",
    "MappedProfile",
    "MembershipStatus",
    "MirrorRefusedError",
    "MirrorUnsubscribe",
    "MissingColumnError",
    "NotFoundError",
    "Operation",
    "OutcomeStatus",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PolicyError",
    "Progress",
    "RateLimitError",
    "RateLimiter",
    "RateLimits",
    "RecordOutcome",
    "Rejection",
    "ResolvedDestination",
    "RetryPolicy",
    "Role",
    "RunRecord",
    "RunStatus",
    "SQLiteSyncState",
    "SavedConnection",
    "SavedExport",
    "Schedule",
    "Secret",
    "SecretNotFoundError",
    "ServerError",
    "ServiceUnavailableError",
    "SyncMeta",
    "SyncStateStore",
    "TLSHandshakeError",
    "TagRule",
    "UnprocessableEntityError",
    "UnsupportedSourceError",
    "User",
    "ValueTag",
    "Workspace",
    "WorkspaceError",
    "__version__",
    "parse_endpoint",
]

__version__: str


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("ac-segment-export")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


for _name in __all__:
    _obj = globals().get(_name)
    if _obj is not None and hasattr(_obj, "__module__") and isinstance(_obj, type):
        _obj.__module__ = __name__
del _name, _obj

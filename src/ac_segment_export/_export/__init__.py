"""The exporter: stream profiles into an ActiveCampaign list and account for every one."""

from ac_segment_export._export._checkpoint import (
    Checkpoint,
    CheckpointMismatchError,
    CheckpointState,
    FileCheckpoint,
)
from ac_segment_export._export._exporter import AsyncExporter, CancelToken, Exporter
from ac_segment_export._export._index import EmailIndex
from ac_segment_export._export._options import ExportOptions
from ac_segment_export._export._report import ExportReport, OutcomeStatus, Progress, RecordOutcome
from ac_segment_export._export._sync import MirrorUnsubscribe, SyncMeta, SyncStateStore
from ac_segment_export._export._validate import check_email, to_e164

__all__ = [
    "AsyncExporter",
    "CancelToken",
    "Checkpoint",
    "CheckpointMismatchError",
    "CheckpointState",
    "EmailIndex",
    "ExportOptions",
    "ExportReport",
    "Exporter",
    "FileCheckpoint",
    "MirrorUnsubscribe",
    "OutcomeStatus",
    "Progress",
    "RecordOutcome",
    "SyncMeta",
    "SyncStateStore",
    "check_email",
    "to_e164",
]

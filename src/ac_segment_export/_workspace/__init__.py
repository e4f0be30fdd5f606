"""The workspace: saved connections and exports, run history, incremental sync state, leases."""

from ac_segment_export._workspace._schedule import Schedule
from ac_segment_export._workspace._source import SavedSource
from ac_segment_export._workspace._sync_store import SQLiteSyncState
from ac_segment_export._workspace._workspace import (
    DueOutcome,
    DueRun,
    RunRecord,
    RunStatus,
    SavedConnection,
    SavedExport,
    Workspace,
)

__all__ = [
    "DueOutcome",
    "DueRun",
    "RunRecord",
    "RunStatus",
    "SQLiteSyncState",
    "SavedConnection",
    "SavedExport",
    "SavedSource",
    "Schedule",
    "Workspace",
]

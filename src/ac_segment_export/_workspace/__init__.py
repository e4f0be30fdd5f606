"""The workspace: saved connections and exports, run history, incremental sync state, leases."""

from ac_segment_export._workspace._schedule import Schedule
from ac_segment_export._workspace._sync_store import SQLiteSyncState
from ac_segment_export._workspace._workspace import (
    RunRecord,
    RunStatus,
    SavedConnection,
    SavedExport,
    Workspace,
)

__all__ = [
    "RunRecord",
    "RunStatus",
    "SQLiteSyncState",
    "SavedConnection",
    "SavedExport",
    "Schedule",
    "Workspace",
]

"""The fault campaign's harness: an emulator that keeps its own log of what went on the wire.

`ObservedEmulator` wraps `ActiveCampaignEmulator.dispatch` (the one entry point of the
in-process transport and of the loopback server) and records, in arrival order, each
request's sequence numbers (when it arrived, when its answer was ready), the emails a bulk
import carried, the batch it queued (also when the answer was then dropped), and the status an
``import/info`` answer reported. A hook called under the log's lock lets a test inject faults
at a given request (a 429 burst, an HTML 200) or kill the exporter's process there.
"""

from __future__ import annotations

import json
import threading
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing._api import Reply

API_KEY = "campaign-key"
LIST_NAME = "Campaign list"

BULK = "/import/bulk_import"
INFO = "/import/info"
SYNC = "/contact/sync"
MEMBERSHIP = "/contactLists"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@attrs.define
class Entry:
    """One request as the campaign saw it."""

    seq: int  #: arrival order (a shared counter)
    answered: int  #: the counter when the answer was ready (after ``seq``)
    method: str
    path: str
    query: dict[str, str]
    status: int  #: 0 when the connection was dropped with no answer
    emails: list[str] = attrs.Factory(list)  #: what a bulk import or a sync carried
    batch_id: str | None = None  #: the batch a bulk import queued (answered or not)
    info_status: str | None = None  #: what an ``import/info`` answer said, when delivered
    unsubscribe: bool = False  #: a bulk import of unsubscribe items (mirror's leavers)

    @property
    def accepted_bulk(self) -> bool:
        return self.batch_id is not None and self.path == BULK


class ObservedEmulator(ActiveCampaignEmulator):
    """An emulator that logs every request as an `Entry` and calls a hook on each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.log: list[Entry] = []
        self.log_lock = threading.Lock()
        self._counter = 0
        #: Called with each new `Entry` (under the log lock), before its answer is sent.
        self.hook: Callable[[ObservedEmulator, Entry], None] | None = None

    def _tick_counter(self) -> int:
        self._counter += 1
        return self._counter

    def dispatch(
        self,
        method: str,
        raw_path: str,
        raw_query: str,
        *,
        token: str | None,
        body: bytes,
        base: str,
        arrived: float | None = None,
    ) -> Reply | None:
        with self.log_lock:
            seq = self._tick_counter()
            reply = super().dispatch(
                method, raw_path, raw_query, token=token, body=body, base=base, arrived=arrived
            )
            record = self.requests[-1]
            entry = Entry(
                seq=seq,
                answered=self._tick_counter(),
                method=record.method,
                path=record.path,
                query=dict(record.query),
                status=0 if reply is None else reply.status,
            )
            data = _json(body)
            if record.path == BULK and isinstance(data, dict):
                items = data.get("contacts") or []
                entry.emails = [str(c.get("email")) for c in items if isinstance(c, dict)]
                entry.unsubscribe = any(isinstance(c, dict) and c.get("unsubscribe") for c in items)
                entry.batch_id = getattr(record, "batch_id", None)
                if entry.batch_id is None and reply is not None and reply.status == 200:
                    answer = _json(reply.body)
                    if isinstance(answer, dict):
                        entry.batch_id = answer.get("batchId")
            elif record.path == SYNC and isinstance(data, dict):
                contact = data.get("contact") or {}
                entry.emails = [str(contact.get("email"))]
            elif record.path == INFO and reply is not None and reply.status == 200:
                answer = _json(reply.body)
                if isinstance(answer, dict) and answer.get("status"):
                    entry.info_status = str(answer["status"])
            self.log.append(entry)
            if self.hook is not None:
                self.hook(self, entry)
        return reply

    def entries(self) -> list[Entry]:
        with self.log_lock:
            return list(self.log)


def _json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None

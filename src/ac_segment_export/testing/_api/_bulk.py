"""The emulated bulk import: ``/import/bulk_import`` (submit, overview) and ``/import/info``.

A request is validated whole (one bad contact rejects it, and nothing is queued), is rate
limited per minute apart for single- and multi-contact requests, and queues a batch that
the account completes over time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from ac_segment_export.testing._api._base import Call, Reply, Resource, as_id, json_reply, not_found
from ac_segment_export.testing._clock import SlidingWindow
from ac_segment_export.testing._email import is_valid_email

if TYPE_CHECKING:
    from collections.abc import Callable

    from ac_segment_export.testing._config import EmulatorLimits, Readings
    from ac_segment_export.testing._state import Account, BatchOutcome

__all__ = ["BulkImport"]


NOT_QUEUED = (
    "JSON payload did not pass validation. Please fix failure Reasons and retry. "
    "The import was not queued for processing."
)
_SEVEN_DAYS = 7 * 24 * 3600.0


class BulkImport(Resource):
    """``/import/bulk_import`` and ``/import/info``."""

    def __init__(
        self,
        account: Account,
        limits: EmulatorLimits,
        readings: Readings,
        *,
        new_batch_id: Callable[[], str],
        batch_outcome: Callable[[], BatchOutcome],
        bulk_rate_fault: Callable[[], bool],
    ) -> None:
        super().__init__(account, limits, readings)
        self._new_batch_id = new_batch_id
        self._batch_outcome = batch_outcome
        self._bulk_rate_fault = bulk_rate_fault
        self.bulk_multi = SlidingWindow(limits.bulk_multi_per_minute, 60.0)
        self.bulk_single = SlidingWindow(limits.bulk_single_per_minute, 60.0)

    def _bulk_rejection(self, *reasons: object) -> Reply:
        return json_reply(
            400, {"success": 0, "message": NOT_QUEUED, "failureReasons": list(reasons)}
        )

    def _bulk_rate_limited(self, single: bool) -> Reply:  # noqa: FBT001
        if single:
            reason = (
                f"Up to {self.limits.bulk_single_per_minute} single-contact imports may be "
                "requested per minute. Please batch contacts into larger requests, or retry "
                "this request in a minute."
            )
        else:
            reason = (
                f"Up to {self.limits.bulk_multi_per_minute} imports may be requested per "
                "minute. Please batch contacts into larger requests, or retry this request "
                "in a minute."
            )
        return json_reply(
            self.limits.bulk_rate_limit_status,
            {"success": 0, "message": "Rate limit exceeded.", "failureReasons": [reason]},
        )

    def _check_bulk_item(self, item: object) -> str | None:
        if not isinstance(item, dict):
            return "Contact must be a JSON object"
        email = item.get("email")
        if email is None or email == "":
            return "Field 'email' is required"
        if not is_valid_email(email):
            return "Field 'email' incorrect format"
        for key in ("first_name", "last_name", "phone", "customer_acct_name"):
            value = item.get(key)
            if value is not None and not isinstance(value, str):
                return f"Field '{key}' incorrect format"
        tags = item.get("tags")
        if tags is not None and (
            not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
        ):
            return "Field 'tags' incorrect format"
        fields = item.get("fields")
        if fields is not None:
            if not isinstance(fields, list):
                return "Field 'fields' incorrect format"
            for entry in fields:
                if not isinstance(entry, dict) or "value" not in entry:
                    return "Field 'fields' incorrect format"
                field_id = as_id(entry.get("id"))
                if field_id is None:
                    return "Field 'fields' incorrect format"
                if field_id not in self.account.fields:
                    return f"Custom field with id {entry.get('id')} does not exist"
        for key in ("subscribe", "unsubscribe"):
            entries = item.get(key)
            if entries is None:
                continue
            if not isinstance(entries, list):
                return f"Field '{key}' incorrect format"
            for entry in entries:
                list_id = as_id(entry.get("listid")) if isinstance(entry, dict) else None
                if list_id is None:
                    return f"Field '{key}' incorrect format"
                if list_id not in self.account.lists:
                    return f"List with id {entry.get('listid')} does not exist"
        return None

    def bulk_import(self, call: Call, now: float) -> Reply:
        """``POST /import/bulk_import``: validate the whole request, then queue a batch."""
        body = call.data if call.valid_json else None
        contacts = body.get("contacts") if isinstance(body, dict) else None
        single = isinstance(contacts, list) and len(contacts) == 1
        if self._bulk_rate_fault():
            return self._bulk_rate_limited(single)
        window = self.bulk_single if single else self.bulk_multi
        if self.limits.enforce_rate_limits and window.wait(now) > 0:
            return self._bulk_rate_limited(single)
        window.hit(now)
        if body is None:
            return self._bulk_rejection("The request body is not valid JSON.")
        if not isinstance(contacts, list):
            return self._bulk_rejection("Field 'contacts' is required and must be an array.")
        if not contacts:
            return self._bulk_rejection("At least one contact is required.")
        if len(contacts) > self.limits.bulk_max_contacts:
            return self._bulk_rejection(
                f"Up to {self.limits.bulk_max_contacts} contacts may be included in a single "
                f"request; this request holds {len(contacts)}."
            )
        if len(call.body) > self.limits.bulk_max_bytes:
            return self._bulk_rejection(
                f"The request body is {len(call.body)} bytes; at most "
                f"{self.limits.bulk_max_bytes} bytes are accepted."
            )
        reasons = []
        for index, item in enumerate(contacts, start=self.readings.failure_index_base):
            problem = self._check_bulk_item(item)
            if problem is not None:
                reasons.append({"contact": index, "failureReason": problem})
        if reasons:
            return self._bulk_rejection(*reasons)
        batch_id = self._new_batch_id()
        self.account.submit_batch(batch_id, contacts, now, self._batch_outcome())
        reply = json_reply(
            200,
            {
                "Success": 1,
                "queued_contacts": len(contacts),
                "batchId": batch_id,
                "message": "Contact import queued",
            },
        )
        return attrs.evolve(reply, batch_id=batch_id)

    def bulk_info(self, call: Call, now: float) -> Reply:
        """``GET /import/info?batchId=...``."""
        batch_id = call.query.get("batchId", "").strip()
        if not batch_id:
            return json_reply(400, {"success": 0, "message": "'batchId' is a required field."})
        batch = self.account.batches.get(batch_id)
        if batch is None:
            return not_found(f"No Result found for Batch with id {batch_id}")
        batch.attempts += 1
        return json_reply(
            200,
            {
                "status": self.account.info_status(batch, now),
                "success": list(batch.success),
                "failure": list(batch.failure),
            },
        )

    def bulk_overview(self, _call: Call, now: float) -> Reply:
        """``GET /import/bulk_import``: outstanding and recently (7 days) completed batches."""
        account = self.account
        outstanding: dict[str, list[int]] = {}
        completed: dict[str, list[int]] = {}
        for batch in account.batches.values():
            if not batch.done:
                counts = outstanding.setdefault(account.date(batch.submitted), [0, 0])
            elif batch.ends >= now - _SEVEN_DAYS:
                counts = completed.setdefault(account.date(batch.ends), [0, 0])
            else:
                continue
            counts[0] += 1
            counts[1] += batch.size

        def rows(groups: dict[str, list[int]]) -> list[dict[str, str]]:
            return [
                {"forDate": day, "batches": str(n), "contacts": str(size)}
                for day, (n, size) in sorted(groups.items())
            ]

        return json_reply(
            200, {"outstanding": rows(outstanding), "recentlyCompleted": rows(completed)}
        )

"""The canned ActiveCampaign answers and the engine loop the CPU benchmarks share (no HTTP)."""

from __future__ import annotations

import itertools
from typing import Any


def answer(op: Any) -> Any:
    """Every bulk import queued, every batch completed, every list read empty."""
    from ac_segment_export import BatchStatus, BulkImportInfo, BulkImportQueued  # noqa: PLC0415

    path = op.spec.path
    if path == "import/bulk_import":
        return BulkImportQueued("batch", op.spec.bulk_contacts)
    if path == "import/info":
        return BulkImportInfo(BatchStatus.COMPLETED)
    return {"contacts": [], "meta": {"total": "0"}}


def drive(engine: Any, rows: Any) -> None:
    """Run *engine* to its end over *rows*, answering each request at once from :func:`answer`."""
    from ac_segment_export._export._commands import Call, Collect, Pull, Sent, Start  # noqa: PLC0415

    source = iter(rows)
    answered: list[tuple[int, Any]] = []
    gen = engine.run()
    send: Any = None
    while True:
        try:
            command = gen.send(send)
        except StopIteration:
            return
        send = None
        if isinstance(command, Pull):
            send = list(itertools.islice(source, command.n))
        elif isinstance(command, Call):
            send = Sent(answer(command.op), False) if command.doubt else answer(command.op)
        elif isinstance(command, Start):
            answered.append((command.token, Sent(answer(command.op), False)))
        elif isinstance(command, Collect):
            send, answered[:] = list(answered), []

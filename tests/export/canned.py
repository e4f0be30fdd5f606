"""Drive the engine with canned answers and a manual clock: no HTTP, no real time.

Tests of the engine's scheduling use this instead of a third copy of a driver loop.
"""

from __future__ import annotations

from itertools import islice
from typing import Any

import httpx

import ac_segment_export as acx
from ac_segment_export._core.wire import BatchStatus, BulkImportInfo, BulkImportQueued
from ac_segment_export._export._commands import Call, Collect, Pull, Sent, Sleep, Start
from ac_segment_export._export._engine import Engine, Target, Tuning
from ac_segment_export._export._report import ExportReport

MAPPER = acx.FieldMapping(email="email", first_name="first").resolve([])
#: Emulated seconds a batch takes, from its submit to its end.
BATCH_TAKES = 2.0


class Clock:
    """A manual clock: time moves only when the engine sleeps or a request takes time."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def drive(
    engine: Engine, profiles: list[dict[str, Any]], clock: Clock, *, failing_info: int = 0
) -> list[Any]:
    """Run *engine* with canned answers; every request takes 0.1 s. Returns the commands."""
    source = iter(profiles)
    submitted: dict[str, float] = {}
    infos_failed = 0
    commands: list[Any] = []

    def answer(op: Any) -> Any:
        nonlocal infos_failed
        clock.now += 0.1
        if op.spec.path == "import/bulk_import":
            batch_id = f"b{len(submitted)}"
            submitted[batch_id] = clock.now
            return BulkImportQueued(batch_id, op.spec.bulk_contacts)
        if op.spec.path == "import/info":
            if infos_failed < failing_info:
                infos_failed += 1
                request = httpx.Request("GET", "https://acme.api-us1.com/api/3/import/info")
                return acx.ServerError("500", method="GET", url=str(request.url), status_code=500)
            batch_id = dict(op.spec.params)["batchId"]
            done = clock.now - submitted[batch_id] >= BATCH_TAKES
            return BulkImportInfo(BatchStatus.COMPLETED if done else BatchStatus.ACTIVE)
        return {"contacts": [], "meta": {"total": "0"}}

    answers: list[tuple[int, Any]] = []
    gen = engine.run()
    send: Any = None
    throw: BaseException | None = None
    while True:
        try:
            command = gen.throw(throw) if throw is not None else gen.send(send)
        except StopIteration:
            return commands
        commands.append(command)
        send, throw = None, None
        if isinstance(command, Pull):
            send = list(islice(source, command.n))
        elif isinstance(command, Sleep):
            clock.now += command.seconds
        elif isinstance(command, Start):
            result = answer(command.op)  # answered at once, 0.1 s later
            answers.append((command.token, Sent(result, False)))
        elif isinstance(command, Collect):
            if not answers and command.timeout:
                clock.now += command.timeout
            send, answers[:] = list(answers), []
        elif isinstance(command, Call):
            result = answer(command.op)
            if isinstance(result, BaseException):
                throw = result
            else:
                send = Sent(result, False) if command.doubt else result


def engine_for(n: int, clock: Clock, **options: Any) -> tuple[Engine, ExportReport]:
    report = ExportReport(
        destination="d", list_id=1, list_name="l", export_user=None, mode="upsert"
    )
    engine = Engine(
        Target(list_id=1),
        acx.ExportOptions(check_unsubscribed=False, **options),
        MAPPER,
        report,
        tuning=Tuning(pull_size=250),
        clock=clock,
    )
    return engine, report

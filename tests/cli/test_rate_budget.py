"""``--rate-limit-url``: the command line paces through a real Redis shared budget."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from ..distributed.redis_server import RedisServer, free_port  # noqa: TID252 - the suite's server
from .conftest import KEY, Program, write

if TYPE_CHECKING:
    from pathlib import Path

    from ac_segment_export.testing import ActiveCampaignEmulator

CSV = "email\nana@example.org\nbruno@example.org\n"


def test_an_export_paces_through_redis_and_keeps_the_key_out(
    program: Program, emu: ActiveCampaignEmulator, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis")
    (tmp_path / "redis").mkdir()
    server.start()
    try:
        path = write(program.cwd / "segment.csv", CSV)
        done = program(
            "export",
            "--input",
            path,
            "--list-id",
            "1",
            "--accept-privacy-terms",
            "--rate-limit-url",
            server.url,
        )
        assert done.code == 0, done.err
        assert len(emu.list_members(1)) == 2
        r = redis.Redis.from_url(server.url)
        keys = r.keys("*")
        assert keys, "nothing was paced through Redis"
        for key in keys:
            assert KEY.encode() not in key
            assert KEY.encode() not in repr(r.dump(key)).encode()
        r.close()
    finally:
        server.stop()


def test_an_unreachable_redis_fails_before_anything_is_sent(
    program: Program, emu: ActiveCampaignEmulator
) -> None:
    path = write(program.cwd / "segment.csv", CSV)
    done = program(
        "export",
        "--input",
        path,
        "--list-id",
        "1",
        "--accept-privacy-terms",
        "--rate-limit-url",
        f"redis://127.0.0.1:{free_port()}/0",
    )
    assert done.code == 4
    assert done.err.startswith("error:")
    assert "Traceback" not in done.err
    assert emu.requests == []

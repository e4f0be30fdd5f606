"""The account-wide 5/s limit and the bulk import 100/min and 20/min limits."""

from __future__ import annotations

import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

from .conftest import make_client


def two(i: int) -> dict[str, object]:
    return {"contacts": [{"email": f"a{i}@example.org"}, {"email": f"b{i}@example.org"}]}


def one(i: int) -> dict[str, object]:
    return {"contacts": [{"email": f"solo{i}@example.org"}]}


def test_account_limit_429_with_headers() -> None:
    emu = ActiveCampaignEmulator()
    with make_client(emu) as http:
        remaining = []
        for _ in range(5):
            response = http.get("/users/me")
            assert response.status_code == 200
            assert response.headers["RateLimit-Limit"] == "5"
            remaining.append(int(response.headers["RateLimit-Remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        limited = http.get("/users/me")
        assert limited.status_code == 429
        assert limited.json() == {"message": "Too Many Requests"}
        assert limited.headers["Retry-After"] == "1"
        assert limited.headers["RateLimit-Limit"] == "5"
        assert limited.headers["RateLimit-Remaining"] == "0"
        # 429s do not consume budget: once the window slides, five more get through.
        for _ in range(10):
            assert http.get("/users/me").status_code == 429
        emu.advance(1.0)
        assert [http.get("/users/me").status_code for _ in range(6)] == [200] * 5 + [429]


def test_403_and_404_are_answered_with_rate_headers() -> None:
    emu = ActiveCampaignEmulator()
    with make_client(emu, key="wrong") as http:
        response = http.get("/users/me")
    assert response.status_code == 403
    assert response.headers["RateLimit-Limit"] == "5"
    assert "RateLimit-Remaining" in response.headers


def test_retry_after_is_a_decimal_when_time_is_scaled() -> None:
    emu = ActiveCampaignEmulator(time_scale=10.0, limits=EmulatorLimits(requests_per_second=3))
    with make_client(emu) as http:
        statuses = [http.get("/users/me") for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    retry_after = statuses[-1].headers["Retry-After"]
    assert "." in retry_after
    assert 0.0 < float(retry_after) <= 0.1  # one emulated second is 0.1 real seconds


def test_limits_off_never_429() -> None:
    emu = ActiveCampaignEmulator(limits=EmulatorLimits.unlimited())
    with make_client(emu) as http:
        responses = [http.get("/users/me") for _ in range(30)]
    assert {r.status_code for r in responses} == {200}
    assert responses[-1].headers["RateLimit-Limit"] == "5"


def test_bulk_requests_count_against_the_account_limit() -> None:
    emu = ActiveCampaignEmulator(limits=EmulatorLimits(requests_per_second=3))
    with make_client(emu) as http:
        statuses = [http.post("/import/bulk_import", json=two(i)).status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]


@pytest.mark.parametrize("status", [400, 429])
def test_bulk_multi_contact_limit(status: int) -> None:
    emu = ActiveCampaignEmulator(
        limits=EmulatorLimits(requests_per_second=10_000, bulk_rate_limit_status=status)
    )
    with make_client(emu) as http:
        for i in range(100):
            assert http.post("/import/bulk_import", json=two(i)).status_code == 200
        limited = http.post("/import/bulk_import", json=two(100))
        assert limited.status_code == status
        body = limited.json()
        assert body["success"] == 0
        assert body["message"] == "Rate limit exceeded."
        assert "Up to 100 imports may be requested per minute" in body["failureReasons"][0]
        # The single-contact window is separate.
        assert http.post("/import/bulk_import", json=one(0)).status_code == 200
        emu.advance(59.0)
        assert http.post("/import/bulk_import", json=two(101)).status_code == status
        emu.advance(1.5)
        assert http.post("/import/bulk_import", json=two(102)).status_code == 200
    assert len(emu.batches) == 102


def test_bulk_single_contact_limit() -> None:
    emu = ActiveCampaignEmulator(limits=EmulatorLimits(requests_per_second=10_000))
    with make_client(emu) as http:
        for i in range(20):
            assert http.post("/import/bulk_import", json=one(i)).status_code == 200
        limited = http.post("/import/bulk_import", json=one(20))
        assert limited.status_code == 400
        assert "Up to 20 single-contact imports" in limited.json()["failureReasons"][0]
        assert http.post("/import/bulk_import", json=two(0)).status_code == 200
        emu.advance(60.0)
        assert http.post("/import/bulk_import", json=one(21)).status_code == 200


def test_bulk_windows_shrink_with_time_scale() -> None:
    emu = ActiveCampaignEmulator(
        time_scale=1000.0,
        limits=EmulatorLimits(requests_per_second=10_000, bulk_single_per_minute=2),
    )
    with make_client(emu) as http:
        first = [http.post("/import/bulk_import", json=one(i)).status_code for i in range(2)]
        assert first == [200, 200]
        emu.advance(61.0)  # 61 ms of real time would do as well
        assert http.post("/import/bulk_import", json=one(3)).status_code == 200


def test_time_scale_speeds_up_the_lifecycle() -> None:
    import time

    emu = ActiveCampaignEmulator(time_scale=200.0, limits=EmulatorLimits.unlimited())
    with make_client(emu) as http:
        batch_id = http.post("/import/bulk_import", json=two(0)).json()["batchId"]
        time.sleep(0.03)  # 6 emulated seconds
        assert (
            http.get("/import/info", params={"batchId": batch_id}).json()["status"] == "completed"
        )
    assert emu.contact_count == 2


def test_limits_validate() -> None:
    with pytest.raises(ValueError, match="bulk_rate_limit_status"):
        EmulatorLimits(bulk_rate_limit_status=500)
    with pytest.raises(ValueError, match="requests_per_second"):
        EmulatorLimits(requests_per_second=0)
    with pytest.raises(ValueError, match="time_scale"):
        ActiveCampaignEmulator(time_scale=0)
    assert EmulatorLimits.unlimited().enforce_rate_limits is False
    assert EmulatorLimits.unlimited().bulk_max_contacts == 250


def _at(emu: ActiveCampaignEmulator, arrived: float) -> int:
    """Dispatch ``GET /users/me`` as if it had arrived *arrived* emulated seconds ago."""
    reply = emu.dispatch(
        "GET",
        "/api/3/users/me",
        "",
        token=emu.api_key,
        body=b"",
        base="http://127.0.0.1",
        arrived=emu.now - arrived,
    )
    assert reply is not None
    return reply.status


def test_a_request_counts_when_it_arrived_not_when_it_was_handled() -> None:
    """Requests handled late (a busy emulator) are counted at their arrival.

    Six requests that arrived 0.2 s apart, 1.05 s from the first to the last, fit the 5/s
    window even when the emulator handles them all at once; counted when handled, the sixth
    met a 429 that ActiveCampaign, which counts arrivals, would not have sent.
    """
    emu = ActiveCampaignEmulator()
    ago = [1.5, 1.3, 1.1, 0.9, 0.7, 0.45]
    assert [_at(emu, a) for a in ago] == [200] * 6
    # Handled after a later one, a request is counted in its own window: (t-1, t].
    assert _at(emu, 0.46) == 200  # 1.3 ... 0.7 before it: the 0.45 one came later
    assert _at(emu, 0.6) == 429  # 1.5 ... 0.7 are five in (t-1, t]
    assert _at(emu, 0.3) == 429  # 1.1 ... 0.7, 0.46 and 0.45: five

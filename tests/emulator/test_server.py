"""The loopback server and the command line."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from ac_segment_export.testing import ActiveCampaignEmulator, EmulatorLimits

HEADERS = {"Api-Token": "test-key"}


@pytest.fixture
def emu() -> ActiveCampaignEmulator:
    return ActiveCampaignEmulator(limits=EmulatorLimits.unlimited())


def test_sync_end_to_end(emu: ActiveCampaignEmulator) -> None:
    vip = emu.add_list("VIP")
    with emu.serve(port=0) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=f"{base_url}/api/3", headers=HEADERS) as http:
            assert http.get("/users/me").json()["user"]["id"] == "1"
            contacts = [
                {"email": f"p{i}@example.org", "subscribe": [{"listid": vip}]} for i in range(250)
            ]
            submitted = http.post("/import/bulk_import", json={"contacts": contacts})
            assert submitted.status_code == 200
            emu.settle()
            result = http.get(
                "/import/info", params={"batchId": submitted.json()["batchId"]}
            ).json()
            assert result["status"] == "completed"
            assert len(result["success"]) == 250
            listed = http.get("/contacts", params={"listid": vip, "limit": 100}).json()
            assert listed["meta"]["total"] == "250"
            assert listed["contacts"][0]["links"]["contactLists"].startswith(base_url)
            assert http.get("/lists/99").status_code == 404
            assert http.get("/lists", headers={"Api-Token": "nope"}).status_code == 403
            assert http.get("/users/me").headers["RateLimit-Limit"] == "5"
    assert len(emu.list_members(vip)) == 250


def test_drop_over_the_socket(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("drop")
    with emu.serve() as base_url, httpx.Client(base_url=base_url, headers=HEADERS) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/api/3/users/me")
        assert http.get("/api/3/users/me").status_code == 200
    assert [r.status for r in emu.requests] == [0, 200]


def test_faults_and_html_over_the_socket(emu: ActiveCampaignEmulator) -> None:
    emu.queue_fault("html_200")
    emu.queue_fault("503")
    with emu.serve() as base_url, httpx.Client(base_url=base_url, headers=HEADERS) as http:
        html = http.get("/api/3/contacts")
        assert html.status_code == 200
        assert html.headers["content-type"].startswith("text/html")
        assert http.get("/api/3/contacts").status_code == 503
        assert http.get("/api/3/contacts").json()["contacts"] == []


@pytest.mark.anyio
async def test_async_end_to_end(emu: ActiveCampaignEmulator) -> None:
    with emu.serve() as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/api/3", headers=HEADERS) as http:
            created = await http.post(
                "/contact/sync", json={"contact": {"email": "Ana@example.org", "firstName": "Ana"}}
            )
            assert created.status_code == 201
            cid = created.json()["contact"]["id"]
            lst = (await http.post("/lists", json={"list": {"name": "VIP"}})).json()["list"]
            subscribed = await http.post(
                "/contactLists",
                json={"contactList": {"list": lst["id"], "contact": cid, "status": 1}},
            )
            assert subscribed.status_code == 200
            found = (await http.get("/contacts", params={"email": "ana@EXAMPLE.org"})).json()
            assert [c["id"] for c in found["contacts"]] == [cid]
    assert emu.list_members(int(lst["id"])) == {"Ana@example.org": 1}


def test_cli_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ac_segment_export.testing",
            "--port",
            "0",
            "--demo-data",
            "--api-key",
            "cli-key",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=f"{base_url}/api/3", headers={"Api-Token": "cli-key"}) as http:
            lists = http.get("/lists").json()
            assert lists["meta"]["total"] == "2"
            assert http.get("/fields").json()["meta"]["total"] == "3"
            assert http.get("/users/me", headers={"Api-Token": "test-key"}).status_code == 403
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0


def test_concurrent_clients_share_one_consistent_state(emu: ActiveCampaignEmulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def worker(base_url: str, n: int) -> list[int]:
        with httpx.Client(base_url=f"{base_url}/api/3", headers=HEADERS) as http:
            return [
                http.post(
                    "/contact/sync", json={"contact": {"email": f"w{n}-{i}@example.org"}}
                ).status_code
                for i in range(20)
            ]

    with emu.serve() as base_url, ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda n: worker(base_url, n), range(6)))
    assert results == [[201] * 20] * 6
    assert emu.contact_count == 120
    assert sorted(c.id for c in emu.contacts) == list(range(1, 121))
    assert len(emu.requests) == 120

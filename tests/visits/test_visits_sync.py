"""Visits through REST and sync: rules and sites over REST, plans pulled by the rep's phone, an
offline check-in / count / check-out pushed late, a far check-in refused, isolation, bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.db import new_id
from tests.factories import auth_headers
from tests.inventory.helpers import terminal_of
from tests.sync.helpers import signed_in_phone, wait_for_watermark
from tests.visits.helpers import NEAR, SHANGHAI


async def _earlier_today_in_shanghai() -> tuple[datetime, timedelta]:
    """A check-in time up to 3 hours ago but on the shop's date of today (the plan's first day, so
    the visit is on time), and a step between the visit's events that keeps them all in the past.
    Just after midnight in Shanghai (16:00 UTC) "3 hours ago" would be yesterday there."""
    now = datetime.now(ZoneInfo("Asia/Shanghai"))
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    if since_midnight < timedelta(seconds=30):
        await asyncio.sleep((timedelta(seconds=30) - since_midnight).total_seconds())
        now = datetime.now(ZoneInfo("Asia/Shanghai"))
        since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    back = min(timedelta(hours=3), since_midnight * 0.9)
    return (now - back).astimezone(UTC), back / 60


def _rows(phone, entity: str) -> dict[str, dict]:
    return {i: data for (_s, e, i), (_v, data) in phone.rows().items() if e == entity}


async def test_a_visit_day_through_rest_and_sync(client, session_factory, network):
    north = await auth_headers(client, "dist-north")
    admin = await auth_headers(client, "admin", client_id="admin")
    south = await auth_headers(client, "dist-south", client_id="south")
    rep = network.user("field-north")
    shop = terminal_of(network, "dist-00")
    assert (
        await client.post("/routes", json={"user_id": rep.id, "terminal_id": shop.id}, headers=north)
    ).status_code == 201
    site = await client.put(
        f"/terminals/{shop.id}/site",
        json={"lat": SHANGHAI[0], "lon": SHANGHAI[1], "timezone": "Asia/Shanghai"},
        headers=north,
    )  # fmt: skip
    assert site.status_code == 200 and site.json()["radius_m"] == 150
    bad = await client.put(f"/terminals/{shop.id}/site", json={"lat": 91, "lon": 0}, headers=north)
    assert bad.status_code == 400
    bad_tz = await client.put(
        f"/terminals/{shop.id}/site", json={"lat": 1, "lon": 0, "timezone": "Mars/Base"}, headers=north
    )
    assert (bad_tz.status_code, bad_tz.json()["code"]) == (422, "invalid_terminal_site")
    assert (
        await client.put(f"/terminals/{shop.id}/site", json={"lat": 1, "lon": 0}, headers=south)
    ).status_code == 404
    rule = await client.post(
        "/visit-rules",
        json={"user_id": rep.id, "terminal_id": shop.id, "freq": "weekly", "weekdays": [0, 1, 2, 3, 4, 5, 6],
              "window_start": "00:00", "window_end": "24:00"},
        headers=north,
    )  # fmt: skip
    assert rule.status_code == 201, rule.text
    assert rule.json()["description"].startswith("every week on Monday")
    bad_rule = await client.post(
        "/visit-rules", json={"user_id": rep.id, "terminal_id": shop.id, "freq": "yearly"}, headers=north
    )
    assert (bad_rule.status_code, bad_rule.json()["code"]) == (422, "invalid_visit_rule")
    assert (await client.post("/visits/plan", json={"days": 2}, headers=north)).status_code == 403
    planned = await client.post("/visits/plan", json={"days": 2}, headers=admin)
    assert planned.json() == {"added": 2}

    phone = await signed_in_phone(client, "field-north")
    await wait_for_watermark(session_factory)
    await phone.pull()
    visits = _rows(phone, "visit")
    assert (
        len(visits) == 2 and len(_rows(phone, "visit_rule")) == 1 and len(_rows(phone, "terminal_site")) == 1
    )
    today = min(visits.values(), key=lambda v: v["planned_date"])

    # offline: far without a reason (refused), then near; a count; check-out — synced hours later
    t0, step = await _earlier_today_in_shanghai()
    check = {"visit_id": today["id"], "terminal_id": shop.id, "at": t0.isoformat()}
    far = phone.mutate("visit.check_in", {**check, "lat": SHANGHAI[0] + 0.01, "lon": SHANGHAI[1]})
    near = phone.mutate("visit.check_in", {**check, "lat": NEAR[0], "lon": NEAR[1]})
    count_id = new_id()
    phone.mutate(
        "stock_check.record",
        {"id": count_id, "org_id": shop.id, "product_id": network.products["A-00001"].id, "counted_qty": 3,
         "observed_at": (t0 + step).isoformat()},
    )  # fmt: skip
    out = phone.mutate("visit.check_out", {"visit_id": today["id"], "at": (t0 + 4 * step).isoformat()})
    junk = phone.mutate("visit.check_in", {**check, "lat": 200, "lon": 0})
    await phone.push_all()
    assert phone.result(far)["status"] == "rejected" and phone.result(far)["code"] == "checkin_too_far"
    assert 1050 < phone.result(far)["data"]["distance_m"] < 1150
    assert phone.result(near)["status"] == "applied"
    assert phone.result(out)["data"]["activities"] == 1
    assert phone.result(junk)["code"] == "invalid"

    await wait_for_watermark(session_factory)
    await phone.pull()
    mine = _rows(phone, "visit")[today["id"]]
    assert (mine["status"], mine["checkin_distance_m"], mine["on_time"]) == ("completed", 100, True)
    assert [a["ref_id"] for a in _rows(phone, "visit_activity").values()] == [count_id]

    listed = (await client.get("/visits", params={"status": "completed"}, headers=north)).json()["items"]
    assert [v["id"] for v in listed] == [today["id"]]
    assert (await client.get(f"/visits/{today['id']}", headers=south)).status_code == 404
    assert (await client.get("/visits", headers=south)).json()["items"] == []
    south_phone = await signed_in_phone(client, "dist-south")
    await south_phone.pull()
    assert not _rows(south_phone, "visit") and not _rows(south_phone, "terminal_site")

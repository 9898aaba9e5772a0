"""The support console in Debian's Chromium against a real server process (ServerProcess), on
SQLite and PostgreSQL: two agents and two customers at once.

Round-robin assignment under capacity and presence; "also viewing"; typing shown on the other
side (and never for an internal note); a customer's photo inline; search by a word; a macro
resolving a ticket; the SLA countdown and a breach in business hours with the support clock
frozen at Monday 10:00 in Shanghai; the CSAT question and its answer; the reports page showing
the database's numbers; the settings page (an administrator sets a capacity, saves a team with
its calendar and targets, adds a macro; an agent sees teams read-only); screenshots of each
view at 1,280 and 1,024 px in both languages."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from backend.config import load_settings
from backend.identity import service as identity
from backend.messaging import Conversation, desk, sla, support
from backend.messaging.desk_models import CsatRating, SlaBreach, SupportAgent, SupportMacro, SupportTeam
from fieldsync.simulation.server import ServerProcess
from tests.dbs import pg_url
from tests.factories import Network
from tests.media.images import photo
from tests.messaging.helpers import actor
from tests.messaging.wsclient import Socket
from workers.jobs.media_jobs import derive_pending

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
FRIDAY_1730 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # 17:30 in Shanghai
MONDAY_10 = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
WEEKDAYS_9_TO_18 = {str(d): [[9 * 60, 18 * 60]] for d in range(5)}
TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


async def _prepare(session_factory: Any, network: Network) -> tuple[str, str]:
    """A second agent, the team (lead: ``support``) with Shanghai office hours, capacities, and a
    ticket opened on Friday 17:30 whose first response is due Monday 09:30."""
    admin, lead, field = actor(network, "admin"), actor(network, "support"), actor(network, "field-north")
    async with session_factory() as s, s.begin():
        second = await identity.create_user(
            s, org_id=lead.org_id, username="support-2", display_name="Second Agent",
            role="support_agent", password="fieldsync-demo",
        )  # fmt: skip
        team = await desk.save_team(
            s, admin, name="North desk", lead_id=lead.user_id, timezone="Asia/Shanghai",
            hours=WEEKDAYS_9_TO_18, holidays=[], first_response_s=3600, next_response_s=1800,
            resolution_s=8 * 3600, is_default=True,
        )  # fmt: skip
        await desk.configure_agent(s, admin, lead.user_id, capacity=2, team_id=team.id)
        await desk.configure_agent(s, admin, second.id, capacity=1, team_id=team.id)
        await support.save_canned_reply(s, lead, title="Thanks", body="Thank you for waiting.")
        await desk.save_macro(
            s, lead, title="Resolve: sorted", reply_body="All sorted. Thank you!",
            add_labels=["sorted"], assign_to=None, resolve=True,
        )  # fmt: skip
        try:
            sla.freeze(FRIDAY_1730)
            late = await support.open_support_conversation(
                s,
                field,
                subject="Scanner offline",
                body="The scanner app will not sync",
                client_message_id="late-1",
            )
        finally:
            sla.freeze(None)
        return late.id, second.id


class Customer:
    def __init__(self, base: str, http: httpx.AsyncClient, tokens: dict[str, Any]) -> None:
        self.base, self.http, self.tokens = base, http, tokens
        self.headers = {"Authorization": "Bearer " + tokens["access_token"]}
        self.socket: Socket | None = None

    async def open(self, subject: str, body: str, cid: str) -> str:
        r = await self.http.post(
            "/support/conversations", json={"subject": subject, "body": body, "client_message_id": cid},
            headers=self.headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return r.json()["id"]

    async def say(self, conv: str, body: str, cid: str, attachments: list[str] | None = None) -> None:
        r = await self.http.post(
            f"/conversations/{conv}/messages",
            json={"client_message_id": cid, "body": body, "attachments": attachments or []},
            headers=self.headers,
        )
        assert r.status_code in (200, 201), r.text


async def _login(http: httpx.AsyncClient, username: str, platform: str = "android") -> dict[str, Any]:
    r = await http.post(
        "/auth/login",
        json={"username": username, "password": "fieldsync-demo", "client_id": "t-" + username,
              "platform": platform, "app_version": "2.4.1"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return r.json()


async def _sign_in(browser: Any, base: str, username: str, *, lang: str = "en", width: int = 1280) -> Any:
    context = await browser.new_context(viewport={"width": width, "height": 800}, locale=lang)
    page = await context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    await page.goto(f"{base}/console")
    await page.fill("#username", username)
    await page.fill("#password", "fieldsync-demo")
    await page.click("#signin button[type=submit]")
    await page.wait_for_selector("#console-view:not([hidden])")
    return page


async def _set_presence(page: Any, status: str) -> None:
    async with page.expect_response(lambda r: r.url.endswith("/support/me/status")):
        await page.select_option("#presence", status)


async def _assignee(http: httpx.AsyncClient, headers: dict[str, str], conv: str) -> str | None:
    r = await http.get(f"/support/tickets/{conv}", headers=headers)
    return r.json()["assignee_id"]


async def test_two_agents_two_customers_in_the_console(
    db_url: str, settings: Any, session_factory: Any, network: Network, tmp_path: Path, artifacts_dir: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    late_id, second_id = await _prepare(session_factory, network)
    lead_id = network.user("support").id
    server = await asyncio.to_thread(
        ServerProcess, db_url, tmp_path / "server", support_clock_at=MONDAY_10.isoformat()
    )
    screenshots = settings.is_sqlite != bool(pg_url())  # once: on PostgreSQL when it is there
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as http, async_playwright() as pw:
            assert (await http.get("/favicon.ico")).headers["content-type"] == "image/x-icon"
            north = Customer(server.url, http, await _login(http, "dist-north"))
            south = Customer(server.url, http, await _login(http, "dist-south"))
            lead_h = {"Authorization": "Bearer " + (await _login(http, "support", "web"))["access_token"]}
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            a = await _sign_in(browser, server.url, "support")
            b = await _sign_in(browser, server.url, "support-2")

            # Presence and round robin under capacity (support: 2, support-2: 1).
            await _set_presence(a, "online")
            assert await _assignee(http, lead_h, late_id) == lead_id  # the queued ticket is offered
            await _set_presence(b, "online")
            t1 = await north.open("Pallet short", "Pallet 7 arrived two cases short", "n1")
            t2 = await south.open("Damaged cartons", "Three cartons were crushed in transit", "s1")
            t3 = await north.open("Invoice copy", "Please send the invoice again", "n2")
            assert await _assignee(http, lead_h, t1) == second_id  # never assigned before: first
            assert await _assignee(http, lead_h, t2) == lead_id
            assert await _assignee(http, lead_h, t3) is None  # both full: it waits
            await expect(a.locator(f'#queue li[data-id="{t3}"]')).to_contain_text("Unassigned")

            # The header badge and the rows agree; no word repeats in a row.
            await expect(a.locator('#tabs [data-view="open"] .count')).to_have_text("4")
            rows_unread = sum(int(x) for x in await a.locator("#queue li .badge.unread").all_inner_texts())
            assert int(await a.locator("#unread-badge").inner_text()) == rows_unread
            for text in await a.locator("#queue li .row-tags").all_inner_texts():
                words = re.findall(r"[A-Za-z]{4,}", text)
                assert len(words) == len({w.lower() for w in words}), text

            # Both agents open t2: each sees the other.
            await a.click(f'#queue li[data-id="{t2}"]')
            await b.click(f'#queue li[data-id="{t2}"]')
            await expect(a.locator("#viewers")).to_contain_text("Second Agent")
            await expect(b.locator("#viewers")).to_contain_text(network.user("support").display_name)
            # Business-hours countdown: opened Monday 10:00, first response due at 11:00.
            await expect(a.locator("#sla")).to_contain_text("First response due in")
            await expect(a.locator("#messages")).to_contain_text("Three cartons were crushed")
            south_org = next(o for o in network.orgs.values() if o.id == network.user("dist-south").org_id)
            await expect(a.locator("#messages .item.customer .meta").first).to_contain_text(
                f"Customer · {south_org.name}"
            )

            # Typing both ways, over the socket; never for an internal note.
            south.socket = await Socket.open(
                server.url.replace("http", "ws") + "/ws", south.tokens["access_token"]
            )
            await south.socket.send({"type": "typing", "conversation_id": t2})
            await expect(a.locator("#typing")).to_contain_text("is typing")
            await a.click("#mode-reply")
            await a.type("#reply", "Looking")
            got = await south.socket.wait_for(lambda e: e["type"] == "typing" and e["user_id"] == lead_id)
            assert got["conversation_id"] == t2
            await a.fill("#reply", "")
            await a.click("#mode-note")
            await south.socket.drain(2.6)  # the console sends at most one typing per 2.5 s
            await a.type("#reply", "@support-2 check the carrier, please")
            assert not [e for e in await south.socket.drain(1.0) if e["type"] == "typing"]
            await a.click("#send")
            await expect(a.locator("#messages .item.note")).to_contain_text("check the carrier")
            await expect(b.locator("#toasts")).to_contain_text("mentioned you")  # the @mention, live

            # A photo from the customer, inline, from the media pipeline's thumbnail.
            data = photo(seed=16)
            up = await http.post(
                "/media/uploads/",
                headers={**south.headers, **TUS, "Upload-Length": str(len(data))},
                content=data,
            )
            assert up.status_code in (200, 201, 204), up.text
            server_settings = load_settings(
                {}, env="test", database_url=db_url, var_dir=str(tmp_path / "server" / "var")
            )
            await derive_pending(session_factory, server_settings)
            sha = hashlib.sha256(data).hexdigest()
            await south.say(t2, "Photo of the cartons", "s2", [sha])
            img = a.locator(f'#messages .thumb[data-sha="{sha}"] img')
            await expect(img).to_be_visible()
            loaded = "sha => (document.querySelector(`.thumb[data-sha='${sha}'] img`) || {}).naturalWidth > 0"
            await a.wait_for_function(loaded, arg=sha)
            await a.click(f'#messages .thumb[data-sha="{sha}"]')
            await expect(a.locator("#photo")).to_be_visible()
            if screenshots:
                await a.screenshot(path=str(artifacts_dir / "console-photo-1280-en.png"))
            await a.keyboard.press("Escape")

            # Reply, and read state as the customer reads it.
            await a.click("#mode-reply")
            await a.fill("#reply", "We will replace the three cartons.")
            await a.click("#send")
            await expect(a.locator("#messages .item.agent").last).to_contain_text("Sent")
            last_seq = (await http.get(f"/conversations/{t2}", headers=south.headers)).json()["last_seq"]
            r = await http.post(f"/conversations/{t2}/read", json={"seq": last_seq}, headers=south.headers)
            assert r.status_code == 200 and r.json()["last_read_seq"] >= last_seq, r.text
            await expect(a.locator("#messages .item.agent").last).to_contain_text("Read", timeout=15_000)

            # Search finds a message by a word in it, highlighted.
            await a.fill("#search", "crushed")
            await expect(a.locator("#hits mark")).to_have_text("crushed")
            await a.fill("#search", "")

            # A macro resolves t1 (support-2's), frees a place: t3 is re-offered to support-2.
            await b.click(f'#queue li[data-id="{t1}"]')
            await expect(b.locator("#chat-title")).to_have_text("Pallet short")
            macro_id = (await http.get("/support/macros", headers=lead_h)).json()[0]["id"]
            await b.select_option("#macro", macro_id)
            await expect(b.locator("#chat-status")).to_have_text("Resolved")
            assert await _assignee(http, lead_h, t3) == second_id
            # CSAT: the customer was asked with quick replies; their "5" is recorded.
            r = await http.get(f"/conversations/{t1}/messages", headers=north.headers)
            ask = [m for m in r.json() if (m.get("meta") or {}).get("kind") == "csat"]
            assert ask and ask[0]["meta"]["quick_replies"] == ["1", "2", "3", "4", "5"]
            await north.say(t1, "5", "n3")
            async with session_factory() as s:
                assert (await s.get(CsatRating, t1)).rating == 5
                assert (await s.get(Conversation, t1)).status == "resolved"
            await expect(b.locator("#messages .quick")).to_contain_text("★ 5")

            # The Friday ticket: breached by 30 business minutes; the escalation job tells the lead.
            await a.click(f'#queue li[data-id="{late_id}"]')
            await expect(a.locator("#sla .sla-chip.breach")).to_contain_text("First response overdue by 30")
            try:
                sla.freeze(MONDAY_10)
                async with session_factory() as s, s.begin():
                    assert await support.escalate_breaches(s) == [late_id]
            finally:
                sla.freeze(None)
            await a.click(f'#queue li[data-id="{late_id}"]')  # loads it again
            await expect(a.locator("#messages .item.note")).to_contain_text("SLA breached")

            # Reports: the numbers the database holds.
            await a.click("#nav-reports")
            async with session_factory() as s:
                tickets = await s.scalar(
                    select(func.count()).select_from(Conversation).where(Conversation.kind == "support")
                )
                breaches = await s.scalar(select(func.count()).select_from(SlaBreach))
                csat = await s.scalar(select(func.avg(CsatRating.rating)))
            total = a.locator('#rep-table tfoot tr[data-key="total"]')
            await expect(total.locator('[data-col="tickets"]')).to_have_text(str(tickets))
            await expect(total.locator('[data-col="sla_breaches"]')).to_have_text(str(breaches))
            await expect(total.locator('[data-col="csat_average"]')).to_have_text(f"{float(csat):g}")
            async with a.expect_download() as download:
                await a.click("#rep-csv")
            csv_text = Path(await (await download.value).path()).read_text()
            assert csv_text.splitlines()[-1].startswith(f"total,total,{tickets},")

            # Settings: an administrator sets an agent's capacity, saves a team with its calendar
            # and targets and adds a macro, all in the console; an agent sees teams read-only.
            adm = await _sign_in(browser, server.url, "admin")
            await adm.click("#nav-settings")
            row = adm.locator(f'#set-agents tr[data-agent="{second_id}"]')
            await row.locator(".agent-capacity").fill("3")
            async with adm.expect_response(lambda r: f"/support/agents/{second_id}" in r.url):
                await row.locator(".agent-save").click()
            await adm.fill("#team-name", "Night desk")
            await adm.select_option("#team-lead", second_id)
            await adm.fill("#team-tz", "Europe/Berlin")
            await adm.fill("#team-open", "20:00")
            await adm.fill("#team-close", "23:30")
            await adm.fill("#team-holidays", "2026-12-24, 2026-12-25")
            await adm.fill("#team-fr", "15")
            async with adm.expect_response(
                lambda r: r.url.endswith("/support/teams") and r.request.method == "POST"
            ):
                await adm.click("#team-save")
            await expect(adm.locator("#set-teams")).to_contain_text("Night desk")
            await adm.fill("#macro-title", "Ask for a photo")
            await adm.fill("#macro-reply", "Please send a photo of the label.")
            await adm.fill("#macro-labels", "Photo, waiting")
            await adm.select_option("#macro-assign", "me")
            async with adm.expect_response(
                lambda r: r.url.endswith("/support/macros") and r.request.method == "POST"
            ):
                await adm.click("#macro-save")
            await expect(adm.locator("#set-macros")).to_contain_text("Ask for a photo")
            async with session_factory() as s:
                night = (
                    await s.execute(select(SupportTeam).where(SupportTeam.name == "Night desk"))
                ).scalar_one()
                assert (night.timezone, night.lead_id, night.first_response_s) == (
                    "Europe/Berlin",
                    second_id,
                    900,
                )
                assert night.hours == {str(d): [[1200, 1410]] for d in range(5)}
                assert night.holidays == ["2026-12-24", "2026-12-25"] and not night.is_default
                assert (await s.get(SupportAgent, second_id)).capacity == 3
                macro = (
                    await s.execute(select(SupportMacro).where(SupportMacro.title == "Ask for a photo"))
                ).scalar_one()
                assert (macro.add_labels, macro.assign_to, macro.resolve) == (
                    ["photo", "waiting"],
                    "me",
                    False,
                )
            await a.click("#nav-settings")
            await expect(a.locator("#set-readonly")).to_be_visible()
            await expect(a.locator("#team-save")).to_be_disabled()
            await expect(a.locator("#macro-save")).to_be_enabled()
            await expect(
                a.locator(f'#set-agents tr[data-agent="{second_id}"] .agent-capacity')
            ).to_have_value("3")

            if screenshots:
                await _screenshots(browser, server.url, artifacts_dir, t2)
            assert a.errors == [] and b.errors == [] and adm.errors == []
            await south.socket.close()
            await browser.close()
    finally:
        await asyncio.to_thread(server.stop)


async def _screenshots(browser: Any, base: str, out: Path, ticket: str) -> None:
    """Each view at 1,280 and 1,024 px in English and Chinese, and the compact layout at 800 px."""
    for lang in ("en", "zh-CN"):
        for width in (1280, 1024, 800):
            page = await _sign_in(browser, base, "support", lang=lang, width=width)
            tag = f"{width}-{lang}"
            await page.click('#tabs [data-view="all"]')
            await page.click(f'#queue li[data-id="{ticket}"]')
            await page.wait_for_selector("#context h3")
            await page.screenshot(path=str(out / f"console-ticket-{tag}.png"))
            if width == 800:
                await page.context.close()
                continue
            await page.fill("#search", "cartons")
            await page.wait_for_selector("#hits mark")
            await page.screenshot(path=str(out / f"console-search-{tag}.png"))
            await page.fill("#search", "")
            await page.click('#tabs [data-view="open"]')
            await page.wait_for_selector('#tabs [data-view="open"][aria-selected="true"]')
            await page.screenshot(path=str(out / f"console-open-{tag}.png"))
            await page.click("#context a[data-order]") if await page.locator(
                "#context a[data-order]"
            ).count() else None
            await page.keyboard.press("Escape")
            await page.keyboard.press("?")
            await page.wait_for_selector("#help[open]")
            await page.screenshot(path=str(out / f"console-help-{tag}.png"))
            await page.keyboard.press("Escape")
            await page.click("#nav-reports")
            await page.wait_for_selector("#rep-table tfoot")
            await page.screenshot(path=str(out / f"console-reports-{tag}.png"), full_page=True)
            await page.context.close()
            page = await _sign_in(browser, base, "admin", lang=lang, width=width)
            await page.click("#nav-settings")
            await page.wait_for_selector("#set-teams tbody tr[data-team]")
            await page.set_viewport_size({"width": width, "height": 1500})  # the whole page, forms too
            await page.screenshot(path=str(out / f"console-settings-{tag}.png"), full_page=True)
            await page.context.close()

"""End to end in real headless Chromium: an agent signs in, claims a conversation a distributor
opened over the API, replies, and the distributor's WebSocket receives the reply."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backend.config import Settings
from tests.dbs import pg_url
from tests.messaging.conftest import LiveServer
from tests.messaging.wsclient import Socket

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (apt-get install chromium)",
)


async def test_agent_claims_and_replies_in_the_console(
    settings: Settings, live_server: LiveServer, artifacts_dir: Path
) -> None:
    if settings.is_sqlite and pg_url():
        pytest.skip("a browser run is slow: it runs once, on PostgreSQL")
    from playwright.async_api import async_playwright, expect

    tokens = await live_server.login("dist-north")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    opened = await live_server.http.post(
        "/support/conversations",
        json={"subject": "Missing pallet", "body": "Pallet 7 never arrived", "client_message_id": "c1"},
        headers=headers,
    )
    assert opened.status_code == 201, opened.text
    conv_id = opened.json()["id"]
    customer_socket = await Socket.open(live_server.ws_url, tokens["access_token"])

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(f"{live_server.base_url}/console")
        await page.get_by_label("Username").fill("support")
        await page.get_by_label("Password").fill("fieldsync-demo")
        await page.get_by_role("button", name="Sign in").click()

        item = page.locator(f'#queue li[data-id="{conv_id}"]')
        await expect(item).to_contain_text("Missing pallet")
        await expect(page.locator("#waiting-badge")).to_have_text("1")
        await item.click()
        await expect(page.locator("#messages")).to_contain_text("Pallet 7 never arrived")
        await expect(page.locator("#sla-timer")).to_contain_text("first response due in")
        await expect(page.locator("#context")).to_contain_text("Dist North")
        await page.get_by_role("button", name="Claim").click()
        await expect(page.locator("#chat-status")).to_have_text("status: claimed")
        await expect(page.locator("#waiting-badge")).to_have_text("0")

        await page.get_by_label("Add a note").fill("Customer is a key account")
        await page.get_by_role("button", name="Add note").click()
        await expect(page.locator("#notes")).to_contain_text("key account")

        await page.get_by_label("Reply to the customer").fill("We are sending it today.")
        await page.get_by_role("button", name="Send reply").click()
        received = await customer_socket.wait_for(
            lambda e: e["type"] == "message" and e["message"]["body"] == "We are sending it today.",
            timeout=10,
        )
        assert received["conversation_id"] == conv_id
        await expect(page.locator("#messages")).to_contain_text("We are sending it today.")
        # The customer writes back; the console updates live.
        await live_server.http.post(
            f"/conversations/{conv_id}/messages",
            json={"client_message_id": "c2", "body": "Thank you!"},
            headers=headers,
        )
        await expect(page.locator("#messages")).to_contain_text("Thank you!")
        await page.screenshot(path=str(artifacts_dir / "support-console.png"), full_page=True)
        await browser.close()
        assert errors == []

    # The internal note never reached the customer.
    assert not any("key account" in str(e) for e in customer_socket.seen)
    await customer_socket.close()

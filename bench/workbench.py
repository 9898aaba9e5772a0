"""The mobile workbench in Debian's Chromium against a real server on the demo network.

Figures: the first screen interactive on a cold load (no HTTP cache, no service worker) with the
CPU throttled 4× through the DevTools protocol (``Emulation.setCPUThrottlingRate``), for a new
phone (the sign-in screen) and for a signed-in phone (home with its figures, from IndexedDB);
beside each the same load unthrottled (the raw limit of this machine); the bytes transferred for
the app itself (compressed) and in all; and the time from coming back online to an empty outbox
for a field rep's visit done offline (a shelf count, a sales order of two lines, an inspection
with two photos: 11 mutations and 2 uploads).

    python bench/workbench.py [--db sqlite|postgresql|all]

Needs the app built (``cd clients/workbench && npm ci && npm run build``) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import io
import time
from typing import Any

import _harness as h
import httpx

from mobile_api.workbench_app.routes import DIST

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
PHONE = {"width": 360, "height": 740}
SYNCED = (
    "document.querySelector('[data-testid=pending]')?.dataset.n === '0' && "
    "document.querySelector('[data-testid=net]')?.dataset.online === '1' && "
    "!document.querySelector('[data-testid=net]').textContent.includes('…')"
)
APP_FILES = ("/app/", "/app/assets/", "/app/icons/", "/app/manifest.webmanifest", "/app/sw.js")


def _jpeg(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(out, "JPEG", quality=85)
    return out.getvalue()


async def _cold_load(
    browser: Any, url: str, *, throttle: float, storage_state: Any = None, ready: str
) -> dict:
    """One cold load in a fresh context: cache off, service workers bypassed, CPU throttled."""
    context = await browser.new_context(viewport=PHONE, locale="en-US", storage_state=storage_state)
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await cdp.send("Network.setBypassServiceWorker", {"bypass": True})
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
    await page.goto(url + "/app/", wait_until="commit")
    await page.wait_for_selector(ready, state="visible", timeout=60_000)
    # evaluated once the main thread is free after rendering: the screen answers input from here
    interactive_ms = await page.evaluate("performance.now()")
    entries = await page.evaluate(
        "[...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')]"
        ".map(e => [new URL(e.name).pathname, e.transferSize, e.encodedBodySize, e.decodedBodySize])"
    )
    await cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    await context.close()
    app = [e for e in entries if e[0].startswith(APP_FILES)]
    return {
        "interactive_ms": round(interactive_ms, 1),
        "app_transferred_bytes": sum(e[1] for e in app),
        "app_decoded_bytes": sum(e[3] for e in app),
        "all_transferred_bytes": sum(e[1] for e in entries),
        "requests": len(entries),
    }


async def _sign_in(browser: Any, url: str, username: str) -> tuple[Any, Any]:
    context = await browser.new_context(viewport=PHONE, locale="en-US")
    page = await context.new_page()
    await page.goto(url + "/app/")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", h.DEMO_PASSWORD)
    await page.click("form button[type=submit]")
    await page.wait_for_selector("[data-testid=home]")
    await page.wait_for_function(
        SYNCED,
        timeout=120_000,
    )
    return context, page


async def _offline_visit_drain(browser: Any, url: str, http: httpx.AsyncClient) -> dict:
    """A visit's worth of work done offline; seconds from back online to an empty outbox."""
    token = await h.login(http, "dist-north", client_id="bench-setup")
    auth = {"Authorization": f"Bearer {token}"}
    orgs = (await http.get("/admin/organisations", params={"limit": 500}, headers=auth)).json()["items"]
    me = (await http.get("/me", headers=auth)).json()
    dist_id = me["organisation"]["id"]
    shop = next(o for o in orgs if o["kind"] == "terminal" and o["parent_id"] == dist_id)
    users = (await http.get("/admin/users", params={"limit": 500}, headers=auth)).json()["items"]
    field_id = next(u["id"] for u in users if u["username"] == "field-north")
    await http.post("/routes", json={"user_id": field_id, "terminal_id": shop["id"]}, headers=auth)
    r = await http.post(
        "/inspection-templates",
        headers=auth,
        json={
            "owner_id": dist_id,
            "title": "Bench visit",
            "questions": [
                {"id": "clean", "kind": "yes_no", "text": "Clean?", "pass_value": True},
                {"id": "shelf", "kind": "photo", "text": "Shelf photos", "min_count": 2},
            ],
        },
    )
    assert r.status_code == 201, r.text
    context, page = await _sign_in(browser, url, "field-north")
    await page.evaluate(
        "p => { history.pushState(null, '', '/app' + p); dispatchEvent(new PopStateEvent('popstate')); }",
        f"/visit/{shop['id']}",
    )
    await context.set_offline(True)
    await page.fill("[data-testid=count-search]", "A-0001")
    await page.click("[data-testid=pick-product] >> nth=0")
    await page.fill("[data-testid=count-qty] input", "9")
    await page.click("[data-testid=count-save]")
    await page.click("[data-testid=visit-tab-order]")
    for sku in ("A-00021", "A-00022"):
        await page.fill("[data-testid=order-search]", sku)
        await page.click("[data-testid=pick-product] >> nth=0")
    await page.click("[data-testid=place-sales-order]")
    try:
        await page.wait_for_selector("[data-testid=order]")
    except Exception:
        await page.screenshot(path="/tmp/bench-fail.png")
        raise
    await page.go_back()
    await page.click("[data-testid=visit-tab-inspection]")
    await page.click("[data-testid=template] >> text=Bench visit")
    await page.click("[data-testid=answer-yes]")
    await page.set_input_files(
        "[data-testid=photo-input]",
        [
            {"name": f"p{i}.jpg", "mimeType": "image/jpeg", "buffer": _jpeg(c)}
            for i, c in enumerate([(200, 30, 30), (30, 200, 30)])
        ],
    )
    await page.wait_for_selector("[data-testid=submit-inspection]:not([disabled])")
    await page.click("[data-testid=submit-inspection]")
    await page.wait_for_selector("[data-testid=inspection][data-status=submitted]")
    waiting = int(await page.get_attribute("[data-testid=pending]", "data-n") or 0)
    started = time.perf_counter()
    await context.set_offline(False)
    await page.wait_for_function(
        "document.querySelector('[data-testid=pending]').dataset.n === '0'", timeout=120_000
    )
    drained = time.perf_counter() - started
    await page.wait_for_selector("[data-testid=score]", timeout=60_000)
    scored = time.perf_counter() - started
    await context.close()
    return {
        "queued": waiting,
        "online_to_empty_outbox_s": round(drained, 3),
        "online_to_score_shown_s": round(scored, 3),
    }


async def measure(target: h.Target, args: argparse.Namespace) -> dict[str, Any]:
    """Cold load (4× CPU throttle), transferred size, and the outbox drain of an offline visit."""
    from playwright.async_api import async_playwright

    if not (DIST / "index.html").is_file():
        raise SystemExit("the workbench is not built: cd clients/workbench && npm ci && npm run build")
    seed_s = await h.seed_demo_network(target, activity=True)
    server = h.Server(target)
    try:
        async with async_playwright() as pw, httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            login_ready = "input[name=username]"
            raw_login = await _cold_load(browser, server.url, throttle=1, ready=login_ready)
            login = await _cold_load(browser, server.url, throttle=args.throttle, ready=login_ready)
            context, _page = await _sign_in(browser, server.url, "dist-north")
            state = await context.storage_state(indexed_db=True)
            await context.close()
            home_ready = "[data-testid=fig-orders-open]"
            raw_home = await _cold_load(
                browser, server.url, throttle=1, storage_state=state, ready=home_ready
            )
            home = await _cold_load(
                browser, server.url, throttle=args.throttle, storage_state=state, ready=home_ready
            )
            drain = await _offline_visit_drain(browser, server.url, http)
            await browser.close()
    finally:
        server.stop()
    return {
        "seed_s": round(seed_s, 1),
        "cpu_throttle": args.throttle,
        "cold_sign_in_screen": login,
        "cold_sign_in_screen_unthrottled": raw_login,
        "cold_signed_in_home": home,
        "cold_signed_in_home_unthrottled": raw_home,
        "offline_visit": drain,
        "target_interactive_ms": 2000,
    }


def summarise(backend: str, f: dict[str, Any]) -> str:
    visit = f["offline_visit"]
    return (
        f"sign-in screen interactive {f['cold_sign_in_screen']['interactive_ms']:.0f} ms "
        f"at {f['cpu_throttle']}× "
        f"(unthrottled {f['cold_sign_in_screen_unthrottled']['interactive_ms']:.0f} ms), signed-in home "
        f"{f['cold_signed_in_home']['interactive_ms']:.0f} ms; app transferred "
        f"{f['cold_sign_in_screen']['app_transferred_bytes'] / 1024:.0f} KiB; offline visit "
        f"({visit['queued']} queued) drained {visit['online_to_empty_outbox_s']:.2f} s after coming online"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--throttle", type=float, default=4.0, help="CPU slow-down factor (DevTools)")


if __name__ == "__main__":
    raise SystemExit(h.run(h.Bench("workbench", measure, summarise, add_arguments)))

"""Sign-in, tokens, refresh rotation and revocation."""

from __future__ import annotations

import time
from datetime import timedelta

import jwt
from sqlalchemy import update

from backend.db import utcnow
from backend.identity import RefreshToken
from tests.factories import auth_headers, login


async def test_login_and_me(client, network):
    tokens = await login(client, "dist-north")
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    me = await client.get("/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200
    assert me.json()["user"]["username"] == "dist-north"
    assert me.json()["organisation"]["id"] == network.user("dist-north").org_id


async def test_wrong_password_is_refused_with_a_stable_code(client, network):
    response = await client.post("/auth/login", json={"username": "dist-north", "password": "nope-nope"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    unknown = await client.post("/auth/login", json={"username": "nobody", "password": "nope-nope"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_credentials"


async def test_login_attempts_are_rate_limited(client, network):
    for _ in range(5):
        r = await client.post("/auth/login", json={"username": "field-north", "password": "wrong-password"})
        assert r.status_code == 401
    locked = await client.post("/auth/login", json={"username": "field-north", "password": network.password})
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_locked"
    assert int(locked.headers["retry-after"]) > 0


async def test_missing_expired_and_tampered_tokens(client, network, settings):
    assert (await client.get("/me")).json()["code"] == "unauthenticated"
    now = int(time.time())
    expired = jwt.encode(
        {"sub": network.user("dist-north").id, "iat": now - 100, "exp": now - 10, "aud": "fieldsync"},
        settings.secret_key,
        algorithm="HS256",
    )
    r = await client.get("/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    tokens = await login(client, "dist-north")
    head, payload, sig = tokens["access_token"].split(".")
    forged = jwt.encode(
        {"sub": network.user("admin").id, "iat": now, "exp": now + 60, "aud": "fieldsync"},
        "not-the-server-key-not-the-server-key",
        algorithm="HS256",
    )
    for bad in (f"{head}.{payload}.{sig[:-2]}AA", forged, "garbage"):
        r = await client.get("/me", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and r.json()["code"] == "token_invalid"


async def test_refresh_rotates_and_reuse_revokes_the_device(client, network):
    first = await login(client, "dist-north")
    second = (await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    ).status_code == 200
    # The old token is presented again: theft is assumed and the device session ends.
    reuse = await client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "refresh_token_reused"
    after = await client.get("/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert after.status_code == 401 and after.json()["code"] == "device_revoked"
    also = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert also.status_code == 401 and also.json()["code"] == "device_revoked"


async def test_revoked_device_and_user_lose_access_at_next_request(client, network):
    phone = await login(client, "field-north", client_id="phone-1")
    other = await login(client, "field-north", client_id="phone-2")
    admin = await auth_headers(client, "admin")
    r = await client.post(f"/devices/{phone['device_id']}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    gone = await client.get("/me", headers={"Authorization": f"Bearer {phone['access_token']}"})
    assert gone.status_code == 401 and gone.json()["code"] == "device_revoked"
    ok = await client.get("/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert ok.status_code == 200
    r = await client.post(f"/admin/users/{network.user('field-north').id}/revoke", headers=admin)
    assert r.status_code == 200
    gone = await client.get("/me", headers={"Authorization": f"Bearer {other['access_token']}"})
    assert gone.status_code == 401
    relogin = await client.post("/auth/login", json={"username": "field-north", "password": network.password})
    assert relogin.status_code == 401


async def test_logout_ends_the_session(client, network):
    tokens = await login(client, "dist-south")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await client.post("/auth/logout", headers=headers)).status_code == 200
    assert (await client.get("/me", headers=headers)).status_code == 401
    r = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401


async def test_non_admin_cannot_revoke_someone_elses_device(client, network):
    victim = await login(client, "dist-south")
    attacker = await auth_headers(client, "dist-north")
    r = await client.post(f"/devices/{victim['device_id']}/revoke", headers=attacker)
    assert r.status_code == 404 and r.json()["code"] == "device_not_found"
    victim_headers = {"Authorization": f"Bearer {victim['access_token']}"}
    assert (await client.get("/me", headers=victim_headers)).status_code == 200


async def test_an_expired_refresh_token_is_refused(client, network, session_factory):
    tokens = await login(client, "dist-north")
    async with session_factory() as session:
        await session.execute(update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1)))
        await session.commit()
    r = await client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    unknown = await client.post("/auth/refresh", json={"refresh_token": "never-issued"})
    assert unknown.status_code == 401 and unknown.json()["code"] == "token_invalid"


async def test_a_good_password_resets_the_failure_count(client, network, settings):
    wrong = {"username": "inspector-north", "password": "wrong-password"}
    for _round in range(2):
        for _ in range(settings.login_max_failures - 1):
            assert (await client.post("/auth/login", json=wrong)).status_code == 401
        await login(client, "inspector-north")
    assert (await client.post("/auth/login", json=wrong)).json()["code"] == "invalid_credentials"


async def test_a_revoked_user_is_refused_everywhere(client, network):
    phone = await login(client, "inspector-north")
    admin = await auth_headers(client, "admin")
    assert (
        await client.post(f"/admin/users/{network.user('inspector-north').id}/revoke", headers=admin)
    ).json()["active"] is False
    bearer = {"Authorization": f"Bearer {phone['access_token']}"}
    for method, path in (("get", "/me"), ("get", "/admin/users"), ("post", "/auth/logout")):
        r = await getattr(client, method)(path, headers=bearer)
        assert r.status_code == 401 and r.json()["code"] == "device_revoked", path
    refresh = await client.post("/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert refresh.status_code == 401


async def test_a_long_client_id_signs_in_again_after_logout_and_token_reuse(client, network, session_factory):
    """A revoked device row is renamed out of the way; the new name must fit the column
    (PostgreSQL refused a 64+33 character name, SQLite stored it), so the phone can sign in again."""
    from sqlalchemy import select

    from backend.identity import Device

    long_id = "p" * 64
    first = await login(client, "dist-north", client_id=long_id)
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    assert (await client.post("/auth/logout", headers=headers)).status_code == 200
    second = await login(client, "dist-north", client_id=long_id)
    assert second["device_id"] != first["device_id"]
    rotated = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert rotated.status_code == 200
    reuse = await client.post("/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert reuse.json()["code"] == "refresh_token_reused"
    third = await login(client, "dist-north", client_id=long_id)
    assert third["device_id"] not in (first["device_id"], second["device_id"])
    user_id = network.user("dist-north").id
    async with session_factory() as session:
        query = select(Device.client_id).where(Device.user_id == user_id)
        names = (await session.execute(query)).scalars().all()
    assert len(names) == 3 and names.count(long_id) == 1
    assert all(len(name) <= 64 for name in names), names

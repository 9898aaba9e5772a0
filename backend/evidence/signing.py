"""The Ed25519 key that signs tree heads.

Ed25519 rather than an HMAC with ``secret_key``: a supplier (or an auditor) verifies tree heads with
the *public* key alone and cannot forge one; an HMAC verifier would need the server's secret, which
also signs access tokens. The key is ``FIELDSYNC_EVIDENCE_SIGNING_KEY`` (base64 of a 32-byte seed;
set it when several processes or machines serve the API) or else a file under ``var/`` created on
first use — kept apart from the database, so write access to the database alone cannot re-sign a
rewritten log.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from backend.config import ConfigError, Settings, env_name

KEY_FILE = "evidence_ed25519.key"


def load_signing_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.evidence_signing_key:
        try:
            seed = base64.b64decode(settings.evidence_signing_key, validate=True)
        except ValueError:
            seed = b""
        if len(seed) != 32:
            raise ConfigError(f"{env_name('evidence_signing_key')} must be base64 of 32 random bytes")
        return Ed25519PrivateKey.from_private_bytes(seed)
    path = Path(settings.var_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: if two processes start at once, one key wins and both use it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(Ed25519PrivateKey.generate().private_bytes_raw())
    seed = path.read_bytes()
    for _ in range(50):  # another process created the file and is about to write the seed
        if seed:
            break
        time.sleep(0.01)
        seed = path.read_bytes()
    if len(seed) != 32:
        raise ConfigError(f"{path} must hold the 32-byte Ed25519 seed of the evidence signing key")
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """First 16 hex digits of SHA-256 of the raw public key."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()[:16]

"""argon2id password hashing."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import CHEAPEST

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults
_dummy = _hasher.hash("timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant-effort check; an unknown user still costs one verification."""
    try:
        return _hasher.verify(password_hash or _dummy, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def use_cheapest_hashing_for_tests() -> None:
    """Tests only: argon2id at its cheapest, so a sign-in costs microseconds instead of ~0.1 s.

    A hash carries its own parameters, so verification follows whatever hashed it.
    """
    global _hasher, _dummy
    _hasher = PasswordHasher.from_parameters(CHEAPEST)
    _dummy = _hasher.hash("timing-equaliser")

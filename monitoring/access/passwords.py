"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashing is deliberately slow (tens of milliseconds), so async code calls the
``*_off_loop`` forms, which run it in a worker thread.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
MIN_LENGTH = 12


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Spent on unknown usernames so that a login takes as long whether or not the user exists.
DUMMY_HASH = hash_password("not-a-real-password-for-timing")


async def hash_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_off_loop(stored_hash: str, password: str) -> bool:
    return await asyncio.to_thread(verify_password, stored_hash, password)

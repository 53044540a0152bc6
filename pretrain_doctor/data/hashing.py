"""Stable text hashes for the data checks: the same text hashes alike in every process.

Python's `hash()` is salted per process, so shards hashed on other machines would not agree;
these use blake2b (whole documents) and a vectorised polynomial hash (word shingles).
"""

from __future__ import annotations

import hashlib

import numpy as np

# The near-duplicate and overlap checks compare documents on their first 256 KiB of
# normalised text: a longer document is a near duplicate of another when their starts are.
MAX_SHINGLE_BYTES = 256 * 1024
_P = 0x100000001B3  # odd, so invertible modulo 2**64
_P_INV = pow(_P, -1, 1 << 64)
_SPACE = ord(" ")
_U64 = np.uint64


def normalise(text: str) -> str:
    """Case-folded, with every run of white space one space: what "the same text" means here."""
    return " ".join(text.casefold().split())


def content_hash(normalised: str, salt: int = 0) -> int:
    """A 64-bit hash of normalised text; `salt` picks another hash function (seeded trials)."""
    digest = hashlib.blake2b(normalised.encode("utf-8", "surrogatepass"), digest_size=8,
                             salt=salt.to_bytes(16, "little"))
    return int.from_bytes(digest.digest(), "little")


def mix64(values: np.ndarray, salt: int = 0) -> np.ndarray:
    """splitmix64's finaliser over uint64 values: spreads any input evenly over 64 bits."""
    x = values.astype(_U64) ^ _U64(salt & 0xFFFFFFFFFFFFFFFF)
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


_powers_cache: dict[int, np.ndarray] = {}


def _wrapping_powers(base: int, n: int) -> np.ndarray:
    """base**i modulo 2**64 for i < n (at least), cached and grown by doubling."""
    held = _powers_cache.get(base)
    if held is None or held.size < n:
        size = max(n, 1024, 2 * (held.size if held is not None else 0))
        held = np.empty(size, dtype=_U64)
        held[0] = 1
        np.cumprod(np.full(size - 1, base, dtype=_U64), out=held[1:])
        _powers_cache[base] = held
    return held


def shingle_hashes(normalised: str, words: int = 5) -> np.ndarray:
    """uint64 hashes of every run of `words` consecutive words (the whole text when shorter).

    A span's hash is sum(byte_i * P**i) over its bytes, taken relative to its start, so equal
    spans hash equal wherever they stand; all spans come from one prefix sum (no Python loop).
    """
    data = normalised.encode("utf-8", "surrogatepass")[:MAX_SHINGLE_BYTES]
    if not data:
        return np.empty(0, dtype=_U64)
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size
    prefix = np.zeros(n + 1, dtype=_U64)
    np.cumsum(raw * _wrapping_powers(_P, n)[:n], out=prefix[1:])
    spaces = np.flatnonzero(raw == _SPACE)
    starts = np.concatenate(([0], spaces + 1))
    ends = np.concatenate((spaces, [n]))
    if starts.size <= words:
        starts, ends = starts[:1], ends[-1:]
    else:
        starts, ends = starts[: starts.size - words + 1], ends[words - 1:]
    spans = (prefix[ends] - prefix[starts]) * _wrapping_powers(_P_INV, n)[starts]
    return mix64(spans)

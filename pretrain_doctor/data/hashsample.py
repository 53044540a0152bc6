"""A bottom-k sample of documents by a hash of their content, in bounded memory.

Every document has a 64-bit `key` computed from its text. The sample keeps the documents
whose keys are the smallest, up to `budget` distinct texts, and drops a key's documents all
together; what is kept are *all* copies of each kept text (counted) wherever they appear.
Because the key is a function of the text, the kept set of a corpus does not depend on how it
was split: merging the samples of two shards gives exactly the sample of the whole, and a
key at or above `cut` (the smallest key ever dropped) can be refused on sight.

While nothing was dropped the sample is the corpus (exact). Once full, the kept keys are a
uniform random sample of the corpus's keys, a fraction `cut / 2**64` of them.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

HASH_SPACE = 1 << 64
_FLUSH = 8192


class HashSample:
    """Columns: key, chash (hash of the normalised text), count, path id, line, signature."""

    def __init__(self, budget: int, signature_width: int = 0) -> None:
        self.budget = budget
        self.signature_width = signature_width
        self.cut = HASH_SPACE  # keys >= cut are never kept
        self.total = 0  # documents offered, kept or not
        self.key = np.empty(0, np.uint64)
        self.chash = np.empty(0, np.uint64)
        self.count = np.empty(0, np.int64)
        self.path = np.empty(0, np.int32)
        self.line = np.empty(0, np.int64)
        self.signature = np.empty((0, signature_width), np.uint32)
        self._pending: list[tuple] = []
        self._known: set[int] = set()  # chashes held, so a copy's signature is not recomputed

    # -- streaming ---------------------------------------------------------------
    def wants(self, key: int) -> bool:
        return key < self.cut

    def knows(self, chash: int) -> bool:
        return chash in self._known

    def add(self, key: int, chash: int, path: int, line: int, signature: Optional[np.ndarray] = None) -> None:
        """Count one document; keep it when its key is below the cut (`signature` for new texts)."""
        self.total += 1
        if key >= self.cut:
            return
        self._pending.append((key, chash, path, line, signature))
        if self.signature_width:
            self._known.add(chash)
        if len(self._pending) >= _FLUSH:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        keys, chashes, paths, lines, sigs = zip(*self._pending)
        self._pending = []
        width = self.signature_width
        sig_rows = np.zeros((len(sigs), width), np.uint32)
        if width:
            for i, sig in enumerate(sigs):
                if sig is not None:
                    sig_rows[i] = sig
        key = np.array(keys, np.uint64)
        chash = key if keys == chashes else np.array(chashes, np.uint64)
        self._combine(key, chash, np.ones(len(keys), np.int64),
                      np.array(paths, np.int32), np.array(lines, np.int64), sig_rows)

    def merge(self, other: "HashSample", path_map: np.ndarray) -> None:
        """Fold in a later shard's sample; `path_map[i]` is this sample's id for its path i."""
        self.flush()
        other.flush()
        self.total += other.total
        self.cut = min(self.cut, other.cut)
        self._combine(other.key, other.chash, other.count, path_map[other.path].astype(np.int32), other.line,
                      other.signature)

    def _combine(self, key, chash, count, path, line, signature) -> None:
        """Append rows after the held ones, sum the counts of equal texts (the first row's place
        and signature stay), then keep the smallest keys that fit the budget."""
        same = key is chash  # the exact sample's key is the text's hash: one array serves both
        key = np.concatenate((self.key, key))
        chash = key if same else np.concatenate((self.chash, chash))
        order = np.argsort(key, kind="stable") if same else np.lexsort((chash, key))  # earliest row first
        key = key[order]
        chash = key if same else chash[order]
        first = np.ones(key.size, bool)
        first[1:] = (key[1:] != key[:-1]) | (chash[1:] != chash[:-1])
        starts = np.flatnonzero(first)
        del first
        count = np.add.reduceat(np.concatenate((self.count, count))[order], starts) if starts.size else count[:0]
        rows = order[starts]
        del order
        key = key[starts]
        chash = key if same else chash[starts]
        path = np.concatenate((self.path, path))[rows]
        line = np.concatenate((self.line, line))[rows]
        signature = np.concatenate((self.signature, signature))[rows]
        # Whole keys only: a key's texts are kept while the running count of texts fits.
        last_of_key = np.ones(key.size, bool)
        last_of_key[:-1] = key[1:] != key[:-1]
        fits = np.flatnonzero(last_of_key & (np.arange(1, key.size + 1) <= self.budget))
        keep = int(fits[-1]) + 1 if fits.size else 0
        if keep < key.size:
            self.cut = min(self.cut, int(key[keep]))
            # copies, so the rows dropped are freed rather than held under views
            key, path, line, signature = key[:keep].copy(), path[:keep].copy(), line[:keep].copy(), signature[:keep].copy()
            chash = key if same else chash[:keep].copy()
            count = count[:keep].copy()
        self.key, self.chash, self.count = key, chash, count
        self.path, self.line, self.signature = path, line, signature
        self._known = set(self.chash.tolist()) if self.signature_width else set()

    # -- reading -----------------------------------------------------------------
    @property
    def saturated(self) -> bool:
        return self.cut < HASH_SPACE

    @property
    def fraction(self) -> float:
        """The share of all keys the sample keeps (1 while nothing was dropped)."""
        return self.cut / HASH_SPACE

    def __getstate__(self) -> dict:
        self.flush()
        state = dict(self.__dict__)
        state["_known"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._known = set(self.chash.tolist()) if self.signature_width else set()


class PathTable:
    """File paths by small integer id, so sampled rows carry 4 bytes instead of a string."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self._ids: dict[str, int] = {}

    def id(self, path: str) -> int:
        found = self._ids.get(path)
        if found is None:
            found = self._ids[path] = len(self.paths)
            self.paths.append(path)
        return found

    def absorb(self, other: "PathTable") -> np.ndarray:
        """Take in another table's paths; returns, for each of its ids, the id here."""
        return np.array([self.id(p) for p in other.paths] or [0], dtype=np.int32)

    def __getitem__(self, path_id: int) -> str:
        return self.paths[path_id]

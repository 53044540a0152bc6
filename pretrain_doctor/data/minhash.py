"""MinHash signatures and LSH look-ups through datasketch (imported only when first needed).

Signatures are plain uint32 arrays (datasketch's "affine32" scheme, seed 1), so the
accumulators that hold them pickle small and compare across processes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable

import numpy as np

NUM_PERM = 128
SEED = 1


@lru_cache(maxsize=4)
def _template(num_perm: int):
    from datasketch import MinHash

    return MinHash(num_perm=num_perm, seed=SEED, scheme="affine32")


def _minhash(num_perm: int, hashvalues=None):
    from datasketch import MinHash

    template = _template(num_perm)
    return MinHash(num_perm=num_perm, seed=SEED, hashfunc=int, permutations=template.permutations,
                   hashvalues=hashvalues, scheme="affine32")


def signature(shingles: np.ndarray, num_perm: int = NUM_PERM) -> np.ndarray:
    """The MinHash of a document's shingle hashes (uint64; their top 32 bits are hashed)."""
    minhash = _minhash(num_perm)
    minhash.update_batch((shingles >> np.uint64(32)).tolist())
    return minhash.hashvalues.astype(np.uint32)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """MinHash's estimate of the Jaccard similarity of two documents' shingle sets."""
    return float(np.count_nonzero(a == b)) / a.size


class SignatureIndex:
    """datasketch's MinHashLSH over signatures numbered 0..n-1: candidates, then verified."""

    def __init__(self, signatures: Iterable[np.ndarray], threshold: float, num_perm: int = NUM_PERM) -> None:
        from datasketch import MinHashLSH

        self.signatures = list(signatures)
        self.threshold = threshold
        self.num_perm = num_perm
        self._lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        with self._lsh.insertion_session() as session:
            for i, sig in enumerate(self.signatures):
                session.insert(i, _minhash(num_perm, sig), check_duplication=False)

    def similar(self, sig: np.ndarray) -> list[tuple[int, float]]:
        """(index, estimated Jaccard) of the indexed signatures at or above the threshold."""
        out = []
        for i in self._lsh.query(_minhash(self.num_perm, sig)):
            similarity = jaccard(sig, self.signatures[i])
            if similarity >= self.threshold:
                out.append((i, similarity))
        return out

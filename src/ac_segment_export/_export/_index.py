"""A compact set of email keys: the only structure of an export that grows with its input.

A Python ``set`` of email strings costs well over 100 bytes an entry (the string object and
the set slot). :class:`EmailIndex` keeps only a 64-bit hash of each key in an open-addressing
table held in one ``array('q')``: 16 to 32 bytes an entry, depending on where the table is
in its doubling cycle. Two different emails collide with a probability of about n²/2⁶⁵
(about 3·10⁻⁸ for a million emails); a collision would report the second email as a
duplicate of the first.

Hashes are Python's own :func:`hash` of the key (64 bits on 64-bit builds; randomised per
process, which is fine: an index lives in one run, and a resumed run rebuilds its own from the
input). It is about twenty times cheaper than a cryptographic digest.
"""

from __future__ import annotations

import sys
from array import array
from hashlib import blake2b

__all__ = ["EmailIndex", "email_hash"]

_EMPTY = 0
_MIN_SLOTS = 1 << 10
_ZERO = (0,)  # array("q", _ZERO) * n: n zeros, with no n-byte buffer made first


def _digest_hash(key: str) -> int:
    value = int.from_bytes(blake2b(key.encode(), digest_size=8).digest(), "little", signed=True)
    return value or 1


def _builtin_hash(key: str) -> int:
    return hash(key) or 1


#: The 64-bit signed hash of an email key (never 0, which marks an empty slot). Where
#: Python's hash is narrower than 64 bits, a blake2b digest keeps collisions as rare.
email_hash = _builtin_hash if sys.hash_info.width >= 64 else _digest_hash


class EmailIndex:
    """A set of email keys stored as 64-bit hashes, with an optional int value per key.

    Args:
        with_values: Keep an int value per key.
        expected: How many keys it will hold, if known: the table is made that large at
            once (no doubling, so no old and new table side by side).
    """

    __slots__ = ("_count", "_keys", "_mask", "_values")

    def __init__(self, *, with_values: bool = False, expected: int = 0) -> None:
        slots = _MIN_SLOTS
        while slots < 2 * expected + 2:  # room for *expected* keys without growing
            slots *= 2
        self._keys = array("q", _ZERO) * slots
        self._values: array[int] | None = array("q", _ZERO) * slots if with_values else None
        self._mask = slots - 1
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def _slot(self, h: int) -> int:
        keys, mask = self._keys, self._mask
        i = h & mask
        while True:
            k = keys[i]
            if k in (h, _EMPTY):
                return i
            i = (i + 1) & mask

    def add(self, key: str, value: int = 0) -> bool:
        """Add *key*; return ``True`` if it was new. An existing key keeps its first value."""
        return self.add_hash(email_hash(key), value)

    def add_hash(self, h: int, value: int = 0) -> bool:
        """Add a key by its :func:`email_hash`."""
        i = self._slot(h)
        if self._keys[i] == h:
            return False
        self._keys[i] = h
        if self._values is not None:
            self._values[i] = value
        self._count += 1
        if self._count * 2 > self._mask:
            self._grow()
        return True

    def set(self, key: str, value: int) -> None:
        """Add *key* or overwrite its value."""
        h = email_hash(key)
        if not self.add_hash(h, value) and self._values is not None:
            self._values[self._slot(h)] = value

    def get(self, key: str) -> int | None:
        """The value stored for *key*, or ``None`` when it is absent."""
        h = email_hash(key)
        i = self._slot(h)
        if self._keys[i] != h:
            return None
        return self._values[i] if self._values is not None else 0

    def get_hash(self, h: int) -> int | None:
        """The value stored for the key with hash *h*, or ``None`` when it is absent."""
        i = self._slot(h)
        if self._keys[i] != h:
            return None
        return self._values[i] if self._values is not None else 0

    def has_hash(self, h: int) -> bool:
        """Whether the key with this :func:`email_hash` is in the index."""
        return self._keys[self._slot(h)] == h

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        h = email_hash(key)
        return self._keys[self._slot(h)] == h

    def nbytes(self) -> int:
        """Bytes held by the table's arrays."""
        size = self._keys.itemsize * len(self._keys)
        return size * 2 if self._values is not None else size

    def _grow(self) -> None:
        old_keys, old_values = self._keys, self._values
        slots = len(old_keys) * 2
        self._keys = array("q", _ZERO) * slots
        self._values = array("q", _ZERO) * slots if old_values is not None else None
        self._mask = slots - 1
        keys, values, mask = self._keys, self._values, self._mask
        for j, h in enumerate(old_keys):
            if h == _EMPTY:
                continue
            i = h & mask
            while keys[i] != _EMPTY:
                i = (i + 1) & mask
            keys[i] = h
            if values is not None and old_values is not None:
                values[i] = old_values[j]

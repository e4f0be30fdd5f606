"""EmailIndex: the open-addressing set of email hashes that de-duplicates an export."""

from __future__ import annotations

import pytest

from ac_segment_export._export import _index
from ac_segment_export._export._index import EmailIndex, email_hash

SLOTS = 1 << 10  # the smallest table; it doubles when more than half full


def test_an_empty_index() -> None:
    """A new index holds nothing and one table of the minimum size."""
    index = EmailIndex()
    assert len(index) == 0
    assert "a@example.com" not in index
    assert index.get("a@example.com") is None
    assert index.nbytes() == 8 * SLOTS
    assert EmailIndex(with_values=True).nbytes() == 2 * 8 * SLOTS


def test_add_says_whether_a_key_is_new() -> None:
    """The first add of a key is True, the next ones False, and the count follows."""
    index = EmailIndex()
    assert index.add("a@example.com") is True
    assert index.add("a@example.com") is False
    assert index.add("b@example.com") is True
    assert len(index) == 2
    assert "a@example.com" in index
    assert "b@example.com" in index
    assert "c@example.com" not in index


def test_keys_are_exact_strings() -> None:
    """The index does not fold case itself: the caller passes the de-duplication key."""
    index = EmailIndex()
    index.add("a@example.com")
    assert "A@example.com" not in index


@pytest.mark.parametrize("key", [None, 1, b"a@example.com", ("a@example.com",)])
def test_only_strings_can_be_members(key: object) -> None:
    """``in`` with something that is not a string is False, never an error."""
    index = EmailIndex()
    index.add("a@example.com")
    assert key not in index


def test_without_values_get_says_present_or_absent() -> None:
    """An index without values answers 0 for a present key and None for an absent one."""
    index = EmailIndex()
    index.add("a@example.com", 7)
    assert index.get("a@example.com") == 0
    assert index.get("b@example.com") is None
    index.set("a@example.com", 9)  # no values to overwrite: a no-op for a present key
    assert index.get("a@example.com") == 0
    index.set("b@example.com", 9)
    assert "b@example.com" in index


def test_with_values_keeps_the_first_value_unless_set() -> None:
    """``add`` keeps the first value of a key; ``set`` overwrites it."""
    index = EmailIndex(with_values=True)
    assert index.add("a@example.com", 3)
    assert not index.add("a@example.com", 4)
    assert index.get("a@example.com") == 3
    index.set("a@example.com", 5)
    assert index.get("a@example.com") == 5
    index.set("b@example.com", -2)  # a new key through set; values are signed
    assert index.get("b@example.com") == -2
    assert len(index) == 2


def test_the_table_grows_and_keeps_every_key_and_value() -> None:
    """Across several doublings no key or value is lost and none is invented."""
    index = EmailIndex(with_values=True)
    n = 10_000
    for i in range(n):
        assert index.add(f"user{i}@example.com", i)
    assert len(index) == n
    # More than half full triggers a doubling: 10,000 keys need 32,768 slots.
    assert index.nbytes() == 2 * 8 * 32_768
    assert all(index.get(f"user{i}@example.com") == i for i in range(n))
    assert not any(f"user{i}@example.com" in index for i in range(n, n + 1000))
    assert not any(index.add(f"user{i}@example.com", -1) for i in range(n))
    assert index.get("user0@example.com") == 0


def test_it_grows_exactly_when_more_than_half_full() -> None:
    """The table doubles on the add that makes it more than half full, not before."""
    index = EmailIndex()
    for i in range(SLOTS // 2 - 1):
        index.add_hash(i + 1)
    assert index.nbytes() == 8 * SLOTS
    index.add_hash(SLOTS)
    assert index.nbytes() == 8 * 2 * SLOTS
    assert all(index.has_hash(i + 1) for i in range(SLOTS // 2 - 1))


def test_colliding_hashes_are_probed_not_confused() -> None:
    """Hashes that share a slot (equal low bits) are all kept, and each is found."""
    index = EmailIndex(with_values=True)
    colliding = [5 + k * SLOTS for k in range(20)]  # all start at slot 5
    for value, h in enumerate(colliding):
        assert index.add_hash(h, value)
    assert all(index.has_hash(h) for h in colliding)
    assert not index.has_hash(5 + 20 * SLOTS)
    assert not index.add_hash(colliding[7], 99)
    assert len(index) == 20


def test_probing_wraps_around_the_end_of_the_table() -> None:
    """A run of collisions in the last slot continues at slot 0."""
    index = EmailIndex()
    last = [SLOTS - 1 + k * SLOTS for k in range(3)]
    for h in last:
        index.add_hash(h)
    index.add_hash(SLOTS)  # its home slot (0) is taken by the wrapped run: probes further
    assert all(index.has_hash(h) for h in [*last, SLOTS])
    assert len(index) == 4


def test_collisions_survive_a_resize(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a hash that collides on purpose, growth re-probes every key into the new table."""
    # Every key hashes to a multiple of 4096: all collide in a 1024- to 4096-slot table.
    monkeypatch.setattr(_index, "email_hash", lambda key: (int(key.split("@")[0]) + 1) << 12)
    index = EmailIndex(with_values=True)
    keys = [f"{i}@example.com" for i in range(1500)]  # two doublings
    for i, key in enumerate(keys):
        assert index.add(key, i)
    assert index.nbytes() == 2 * 8 * 4096
    assert [index.get(key) for key in keys] == list(range(1500))
    assert "1500@example.com" not in index


def test_negative_and_extreme_hashes() -> None:
    """Hashes are signed 64-bit values: negative ones and the extremes are stored as given."""
    index = EmailIndex()
    extremes = [-1, -(2**63), 2**63 - 1, -SLOTS]
    for h in extremes:
        assert index.add_hash(h)
    assert all(index.has_hash(h) for h in extremes)
    assert len(index) == len(extremes)


def test_add_hash_and_add_agree() -> None:
    """A key added by its hash is found by the key, and the other way round."""
    index = EmailIndex()
    index.add_hash(email_hash("a@example.com"))
    assert "a@example.com" in index
    index.add("b@example.com")
    assert index.has_hash(email_hash("b@example.com"))
    assert not index.add_hash(email_hash("b@example.com"))


@pytest.mark.parametrize("hasher", [_index._builtin_hash, _index._digest_hash])
def test_hashes_are_never_zero_and_are_stable(hasher: object) -> None:
    """Both hash functions give a non-zero signed 64-bit value, the same for the same key."""
    assert callable(hasher)
    for key in ("", "a@example.com", "b@example.com"):
        h = hasher(key)
        assert h != 0
        assert -(2**63) <= h < 2**63
        assert hasher(key) == h
    assert hasher("a@example.com") != hasher("b@example.com")

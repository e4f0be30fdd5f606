"""One public namespace: ``ac_segment_export`` (plus ``ac_segment_export.testing``)."""

from __future__ import annotations

import importlib
import pkgutil
import types

import pytest

import ac_segment_export as acx
import ac_segment_export.testing as testing

#: Names the private packages share among themselves, on purpose not public.
INTERNAL = {
    "BULK_MAX_BYTES",
    "BULK_MAX_CONTACTS",
    "EmailIndex",
    "ResolvedMapper",
    "bulk_body_size",
    "check_email",
    "encode_bulk_contact",
    "to_e164",
}


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return 0, name
    return (1 if name[0].isupper() else 2), name


@pytest.mark.parametrize("module", [acx, testing])
def test_all_is_sorted_and_every_name_exists(module: types.ModuleType) -> None:
    names = list(module.__all__)
    assert names == sorted(names, key=_isort_key)
    assert len(names) == len(set(names))
    for name in names:
        assert hasattr(module, name), name


def test_every_implementation_package_is_private() -> None:
    packages = {m.name for m in pkgutil.iter_modules(acx.__path__)}
    public = {name for name in packages if not name.startswith("_")}
    assert public == {"testing"}
    for old in ("client", "model", "export"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(f"ac_segment_export.{old}")


def test_the_top_level_exports_what_the_private_packages_offer() -> None:
    for package in ("_client", "_model", "_export", "_distributed"):
        module = importlib.import_module(f"ac_segment_export.{package}")
        missing = set(module.__all__) - set(acx.__all__) - INTERNAL
        assert not missing, f"{package} offers {sorted(missing)}, not exported at the top"


def test_the_top_level_holds_nothing_public_beyond_all() -> None:
    extra = {
        name
        for name, value in vars(acx).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } - set(acx.__all__)
    assert extra <= {"annotations"}  # from __future__ import annotations


def test_public_classes_say_they_live_at_the_top() -> None:
    for name in acx.__all__:
        value = getattr(acx, name)
        if isinstance(value, type):
            assert value.__module__ == "ac_segment_export", name


def test_names_users_need_are_public() -> None:
    # Checkpoint.bind returns a CheckpointState; an admin accepts the notice of a version.
    assert acx.CheckpointState is not None
    assert isinstance(acx.DATA_PRIVACY_NOTICE, str)
    assert acx.DATA_PRIVACY_NOTICE
    assert acx.DATA_PRIVACY_TERMS_VERSION
    assert acx.Operation is not None

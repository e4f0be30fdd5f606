"""The public namespace: complete, sorted, documented, and free of private leaks."""

from __future__ import annotations

import inspect
import pickle

import pytest

import ac_segment_export as acx
import ac_segment_export.testing as testing


def test_all_names_exist() -> None:
    """Every name in __all__ is importable from the package."""
    missing = [name for name in acx.__all__ if not hasattr(acx, name)]
    assert missing == []


def test_public_classes_report_the_short_module() -> None:
    """Public classes show as ac_segment_export.X in reprs and tracebacks."""
    for name in acx.__all__:
        obj = getattr(acx, name)
        if inspect.isclass(obj):
            assert obj.__module__ == "ac_segment_export", name


def test_public_names_have_docstrings() -> None:
    """Every public class and function carries a docstring."""
    undocumented = [
        name
        for name in acx.__all__
        if (inspect.isclass(getattr(acx, name)) or inspect.isfunction(getattr(acx, name)))
        and not inspect.getdoc(getattr(acx, name))
    ]
    assert undocumented == []


def test_no_third_party_names_leak() -> None:
    """tenacity and cattrs stay private: nothing public comes from them."""
    for name in acx.__all__:
        module = getattr(getattr(acx, name), "__module__", "") or ""
        assert not module.startswith(("tenacity", "cattrs")), name


def test_version_comes_from_metadata() -> None:
    """__version__ is the installed distribution's version."""
    from importlib.metadata import version

    assert acx.__version__ == version("ac-segment-export")


def test_errors_share_one_root() -> None:
    """Every exception class exported derives from ACSegmentExportError."""
    for name in acx.__all__:
        obj = getattr(acx, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert issubclass(obj, acx.ACSegmentExportError), name


def test_testing_namespace() -> None:
    """The emulator is public under ac_segment_export.testing."""
    assert "ActiveCampaignEmulator" in testing.__all__
    assert all(hasattr(testing, name) for name in testing.__all__)


def test_secret_refuses_pickling() -> None:
    """A Secret cannot be pickled (so it cannot leak through a pickled object)."""
    with pytest.raises(TypeError):
        pickle.dumps(acx.Secret("abc"))

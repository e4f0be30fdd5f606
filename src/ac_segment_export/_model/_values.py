"""The data world's values as plain Python: missing values are absent, numpy scalars are numbers.

pandas and numpy mark a missing value with ``NaN``, ``NaT`` or ``pd.NA``, and hand out numpy
scalars and ``Timestamp`` objects where Python code expects ``int``, ``float`` and
``datetime``. :func:`plain` turns one such value into what it means: ``None`` for a missing
value (which the mapper then does not send), an ``int``/``float``/``bool``/``str`` for a
numpy scalar, a ``datetime`` or ``date`` for a ``Timestamp`` or ``datetime64``. Neither
library is imported here: a value is recognised by its type's module, and only a value of
theirs is asked for its Python form.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

__all__ = ["plain"]

#: Types that are already plain: returned as they are, with one look-up.
_PLAIN: frozenset[type] = frozenset(
    {str, int, bool, dt.date, dt.datetime, decimal.Decimal, list, tuple, set, frozenset, dict}
)
_COARSE_UNITS = frozenset({"Y", "M", "W", "D"})


def plain(value: Any) -> Any:
    """*value* as plain Python; ``None`` when it stands for a missing value.

    ``None``, a float ``NaN``, ``NaT``, ``pd.NA`` and numpy's ``NaN``/``NaT`` are missing.
    A numpy scalar becomes its Python value, a pandas ``Timestamp`` a ``datetime`` (without
    nanoseconds), a numpy ``datetime64`` a ``date`` (day or coarser units) or a
    ``datetime``. Anything else is returned unchanged.
    """
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is float:
        return None if math.isnan(value) else value
    module = kind.__module__
    if module.startswith("numpy"):
        return _numpy(value)
    if module.startswith("pandas"):
        return _pandas(value)
    if isinstance(value, float) and math.isnan(value):  # a float subclass's NaN
        return None
    return value


def _numpy(value: Any) -> Any:
    import numpy as np  # noqa: PLC0415 - the value is numpy's, so numpy is there

    if isinstance(value, np.datetime64):
        if np.isnat(value):
            return None
        unit = np.datetime_data(value.dtype)[0]
        if unit in _COARSE_UNITS:
            return value.astype("datetime64[D]").item()
        return value.astype("datetime64[us]").item()
    if isinstance(value, np.timedelta64):
        return None if np.isnat(value) else value
    if isinstance(value, np.ndarray):
        return [plain(item) for item in value.tolist()]
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, float) and math.isnan(item):
            return None
        return item
    return value


def _pandas(value: Any) -> Any:
    import pandas as pd  # noqa: PLC0415 - the value is pandas', so pandas is there

    if value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime(warn=False)
    try:
        missing = pd.isna(value)
    except (TypeError, ValueError):
        return value
    return None if isinstance(missing, bool) and missing else value

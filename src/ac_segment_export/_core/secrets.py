"""A container for the API key that never shows its value by accident."""

from __future__ import annotations

import hmac
from typing import NoReturn

__all__ = ["Secret"]

_MASK = "**********"


class Secret:
    """An API key (or any credential) that hides itself.

    ``repr``, ``str``, f-strings, logging and pickling never reveal the value; call
    :meth:`reveal` at the one place that must send it. Two secrets compare equal when their
    values are equal (compared in constant time), so value objects holding one keep a useful
    ``==``.

    Args:
        value: The credential. Surrounding whitespace is removed; a blank value is refused.

    Raises:
        ConfigurationError: When the value is blank or not a string.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        from ac_segment_export._core.errors import ConfigurationError  # noqa: PLC0415

        raw: object = value.reveal() if isinstance(value, Secret) else value
        if not isinstance(raw, str):  # callers without type checking
            msg = f"An API key must be a string, not {type(raw).__name__}."
            raise ConfigurationError(msg)
        stripped = raw.strip()
        if not stripped:
            msg = "The API key is blank. Copy it from ActiveCampaign's Settings > Developer page."
            raise ConfigurationError(msg)
        if any(ch.isspace() for ch in stripped):
            msg = "The API key contains whitespace; copy it again from Settings > Developer."
            raise ConfigurationError(msg)
        self._value = stripped

    def reveal(self) -> str:
        """Return the secret value. Call this only where the value must leave the process."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{_MASK}')"

    def __str__(self) -> str:
        return _MASK

    def __format__(self, spec: str) -> str:
        return _MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        msg = "A Secret cannot be pickled; store a reference to it instead."
        raise TypeError(msg)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self

"""Reading profiles: map each one, check its email and its values, say why one cannot go.

Nothing here records an outcome or sends anything: :class:`ProfileReader` answers, the engine
books. A bad profile is an answer (:class:`Refused`, :class:`Refusal`), never an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ac_segment_export._core.wire import FieldValueInput
from ac_segment_export._export._validate import (
    MAX_NAME_LENGTH,
    MAX_PHONE_LENGTH,
    MAX_VALUE_LENGTH,
    check_email,
    to_e164,
)
from ac_segment_export._model._mapper import UnreadableProfile
from ac_segment_export._model._mapping import MappedProfile

if TYPE_CHECKING:
    from ac_segment_export._model import FieldMapper

__all__ = ["ProfileReader", "Refusal", "Refused", "Values", "raised", "unencodable"]


class Refused(NamedTuple):
    """Why a profile is rejected before its values are looked at.

    Attributes:
        reason: The reason, holding none of the profile's data beyond the email.
        field: The field it is about, when there is one.
        email: The email to report: normalised when it is valid (the profile was rejected
            for another value), the raw value for a profile rejected for its email.
        raw: The email as read, when it could be: mirror counts its owner as a member.
        unreadable: The source could not read the record (:class:`UnreadableProfile`).
    """

    reason: str
    field: str | None = None
    email: str | None = None
    raw: object = None
    unreadable: bool = False


_MISSING: Any = object()

#: The checked values of one contact: first name, last name, phone, tags, custom fields.
Values = tuple[str | None, str | None, str | None, tuple[str, ...], tuple[FieldValueInput, ...]]


class Refusal(NamedTuple):
    """Why a profile's values cannot be sent, and the field it is about."""

    reason: str
    field: str | None


def _not_text(what: str, value: object) -> str:
    return f"{what} must be text, not {type(value).__name__}"


def _raised(who: str, exc: BaseException) -> str:
    """``"<who> raised <Type>: <message>"``, the message shortened (and dropped if unprintable)."""
    try:
        detail = str(exc)
    except Exception:  # noqa: BLE001 - an exception whose __str__ raises
        detail = ""
    if len(detail) > 200:
        detail = detail[:197] + "..."
    return f"{who} raised {type(exc).__name__}" + (f": {detail}" if detail else "")


def _text_of(value: object) -> str:
    """``str(value)``, or a placeholder when its ``__str__`` raises."""
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a user's object may raise anything
        return f"(a reason of type {type(value).__name__} that cannot be shown)"


def _valid_email(raw: object) -> str | None:
    """The normalised email when *raw* is a valid one (a profile rejected for another value)."""
    checked = check_email(raw)
    return None if isinstance(checked, str) else checked[0]


def _as_text(raw: object) -> str | None:
    return raw if isinstance(raw, str) else None


def _has_surrogate(value: object) -> bool:
    if not isinstance(value, str) or value.isascii():
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


raised = _raised


class ProfileReader:
    """Maps profiles with a :class:`FieldMapper` and checks what the mapper gave.

    Args:
        mapper: The destination's resolved mapper, or the user's own.
        tags: The destination's tags, added to every contact.
        phone_e164: Normalise phone numbers to E.164.
        default_country_code: The country of numbers written without a country code.
    """

    def __init__(
        self,
        mapper: FieldMapper,
        *,
        tags: tuple[str, ...] = (),
        phone_e164: bool = False,
        default_country_code: str | None = None,
    ) -> None:
        self.mapper = mapper
        self._tags = tags
        self.phone_e164 = phone_e164
        self.default_country_code = default_country_code

    def read(self, profile: Any) -> tuple[str, str, Any] | Refused:
        """Map one profile and check its email: ``(email, key, mapped)``, or why not."""
        if type(profile) is not dict and not isinstance(profile, Mapping):
            if type(profile) is UnreadableProfile:
                owner = profile.email
                return Refused(_text_of(profile.reason), email=owner, raw=owner, unreadable=True)
            return Refused(f"a profile must be a mapping, not {type(profile).__name__}")
        mapped: Any  # a MappedProfile or a Rejection, or a user mapper's look-alike
        email: Any
        try:
            mapped = self.mapper.map(profile)
            if type(mapped) is MappedProfile:  # the common case, without the look-ups
                reason, email = None, mapped.email
            else:
                reason = getattr(mapped, "reason", None)
                email = getattr(mapped, "email", _MISSING) if reason is None else None
        except Exception as exc:  # noqa: BLE001 - a user's mapper must not stop the export
            raw = self.email_of(profile)
            return Refused(_raised("the mapper", exc), email=_valid_email(raw), raw=raw)
        if email is _MISSING:
            raw = self.email_of(profile)
            return Refused(
                f"the mapper returned {type(mapped).__name__}, not a MappedProfile or a Rejection",
                email=_valid_email(raw),
                raw=raw,
            )
        if reason is not None:
            field = getattr(mapped, "field", None)
            raw = getattr(mapped, "email", None) or self.email_of(profile)
            return Refused(
                _text_of(reason),
                field if isinstance(field, str) else None,
                email=_valid_email(raw) if field != "email" else _as_text(raw),
                raw=raw,
            )
        checked = check_email(email)
        if isinstance(checked, str):
            raw = email if isinstance(email, str) else None
            return Refused(checked, "email", email=raw, raw=raw)
        return checked[0], checked[1], mapped

    def email_of(self, profile: Any) -> str | None:
        """The profile's email as the mapper reads it, for a profile it would not map."""
        reader = getattr(self.mapper, "email_of", None)
        if reader is None:
            return None
        try:
            email = reader(profile)
        except Exception:  # noqa: BLE001 - unreadable is an answer here
            return None
        return email if isinstance(email, str) else None

    def key(self, profile: Any) -> tuple[str, str | None]:
        """A profile's email key without giving it an outcome, and its email when valid."""
        if not isinstance(profile, Mapping):
            return "", None
        try:
            mapped: Any = self.mapper.map(profile)
            email = mapped.email if getattr(mapped, "reason", None) is None else None
        except Exception:  # noqa: BLE001 - reported where the profile is taken
            email = None
            mapped = None
        if email is None:
            raw = getattr(mapped, "email", None) or self.email_of(profile)
            return (raw.strip().lower() if isinstance(raw, str) else ""), None
        checked = check_email(email)
        if isinstance(checked, str):
            return (email.strip().lower() if isinstance(email, str) else ""), None
        return checked[1], checked[0]

    def values(self, mapped: Any) -> Values | Refusal:
        """Check the values of one mapped profile (types, lengths, E.164): what to send."""
        first = mapped.first_name or None
        last = mapped.last_name or None
        phone = mapped.phone or None
        if first is not None and (type(first) is not str or len(first) > MAX_NAME_LENGTH):
            return _bad_name(first, "first name", "first_name")
        if last is not None and (type(last) is not str or len(last) > MAX_NAME_LENGTH):
            return _bad_name(last, "last name", "last_name")
        if phone is not None:
            if type(phone) is not str:
                return Refusal(_not_text("phone", phone), "phone")
            if self.phone_e164:
                normalised = to_e164(phone, self.default_country_code)
                if normalised is None:
                    return Refusal(f"phone {phone!r} cannot be written in E.164 form", "phone")
                phone = normalised
            if len(phone) > MAX_PHONE_LENGTH:
                return Refusal(f"phone is longer than {MAX_PHONE_LENGTH} characters", "phone")
        own = mapped.tags
        if own:
            for tag in own:
                if type(tag) is not str:
                    return Refusal(_not_text("a tag", tag), "tags")
            tags = tuple(own) + self._tags
        else:
            tags = self._tags
        fields = mapped.fields
        for fv in fields:
            value = fv.value
            if type(value) is not str:
                return Refusal(_not_text(f"custom field {fv.field}'s value", value), None)
            if type(fv.field) is not int:
                return Refusal(f"a custom field ID must be an integer, not {fv.field!r}", None)
            if len(value) > MAX_VALUE_LENGTH:
                return Refusal(
                    f"custom field {fv.field}'s value is longer than {MAX_VALUE_LENGTH} characters",
                    str(fv.field),
                )
        return first, last, phone, tags, fields if type(fields) is tuple else tuple(fields)


def _bad_name(value: object, what: str, field: str) -> Refusal:
    if type(value) is not str:
        return Refusal(_not_text(what, value), field)
    return Refusal(f"{what} is longer than {MAX_NAME_LENGTH} characters", field)


def unencodable(mapped: Any, exc: Exception) -> tuple[str, str | None]:
    """Why a mapped profile could not be encoded: a reason that holds none of its data."""
    if isinstance(exc, UnicodeEncodeError):
        candidates: list[tuple[str, object]] = [
            ("first_name", getattr(mapped, "first_name", None)),
            ("last_name", getattr(mapped, "last_name", None)),
            ("phone", getattr(mapped, "phone", None)),
        ]
        candidates += [(f"tag {i}", t) for i, t in enumerate(getattr(mapped, "tags", ()))]
        for fv in getattr(mapped, "fields", ()):
            candidates.append((str(getattr(fv, "field", "?")), getattr(fv, "value", None)))
        field = next((name for name, value in candidates if _has_surrogate(value)), None)
        where = field or "a value"
        return (
            f"{where} holds text that is not valid Unicode (a lone surrogate such as "
            "\\ud800); it cannot be sent",
            field,
        )
    if isinstance(exc, ValueError) and "out of range float" in str(exc).lower():
        return "a value is NaN or infinite, which JSON cannot carry", None
    return (
        f"the mapped profile cannot be encoded ({type(exc).__name__}): the mapper returned "
        "a value of the wrong type",
        None,
    )

"""The object model: connections, consent, permissions, export destinations and field mappings.

Frozen, validated values that do no I/O except in the explicit ``verify``/``validate`` calls:

- :class:`Connection` (with :class:`Consent`, :class:`Audience`) is the "set up a connection"
  step; :class:`Actor` and :class:`Role` drive its permission checks.
- :class:`ExportDestination` (with :class:`FieldMapping`, :class:`ExportMode`) is the
  "configure an export" step; :meth:`ExportDestination.validate` checks it against the account
  and returns a :class:`ResolvedDestination` whose :class:`FieldMapper` the exporter calls once
  per profile, getting a :class:`MappedProfile` or a :class:`Rejection`.
"""

import attrs

from ac_segment_export._model import _serde as _serde  # registers the stored shapes
from ac_segment_export._model._connection import (
    DATA_PRIVACY_NOTICE,
    DATA_PRIVACY_TERMS_VERSION,
    Connection,
    Consent,
)
from ac_segment_export._model._destination import ExportDestination, ExportMode, ResolvedDestination
from ac_segment_export._model._mapper import (
    FieldMapper,
    MappedProfile,
    Rejection,
    ResolvedMapper,
    UnreadableProfile,
)
from ac_segment_export._model._mapping import Attribute, FieldMapping, FlagTag, TagRule, ValueTag
from ac_segment_export._model._roles import Actor, Audience, Role

__all__ = [
    "DATA_PRIVACY_NOTICE",
    "DATA_PRIVACY_TERMS_VERSION",
    "Actor",
    "Attribute",
    "Audience",
    "Connection",
    "Consent",
    "ExportDestination",
    "ExportMode",
    "FieldMapper",
    "FieldMapping",
    "FlagTag",
    "MappedProfile",
    "Rejection",
    "ResolvedDestination",
    "ResolvedMapper",
    "Role",
    "TagRule",
    "UnreadableProfile",
    "ValueTag",
]

# Resolve the string annotations now, in the modules that define them: the top-level package
# re-labels these classes' ``__module__``, where the names would no longer resolve.
for _cls in (
    Actor,
    Attribute,
    Connection,
    Consent,
    ExportDestination,
    FieldMapping,
    FlagTag,
    Rejection,
    ResolvedDestination,
    UnreadableProfile,
    ValueTag,
):
    attrs.resolve_types(_cls)
del _cls

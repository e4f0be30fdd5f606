"""``--sandbox``: the built-in emulator in-process, with the target list and fields created."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from ac_segment_export._cli._mapping import MapSpec, sandbox_field
from ac_segment_export._core.errors import ConfigurationError

if TYPE_CHECKING:
    from ac_segment_export.testing import ActiveCampaignEmulator

__all__ = ["SAMPLE_MAPS", "make_sandbox", "sample_path"]

#: Emulated time runs this much faster than real time in the sandbox (limits included): at
#: x60 a thread woken a few milliseconds late meets the emulated 5-a-second window now and then.
SANDBOX_TIME_SCALE = 10.0
#: The largest list or field ID the sandbox creates its way up to.
_MAX_ID = 1000
#: How the shipped sample's columns map (used when ``--sandbox`` is given no input).
SAMPLE_MAPS = (
    "email=email",
    "first_name=first_name",
    "last_name=last_name",
    "phone=phone",
    "field:LOYALTY_TIER=tier",
)


def sample_path() -> Path:
    """The sample segment the package ships (1,000 customers, a few duplicates)."""
    return Path(str(resources.files("ac_segment_export._cli") / "samples" / "customers.csv"))


def make_sandbox(
    spec: MapSpec, list_id: int | None, *, time_scale: float = SANDBOX_TIME_SCALE
) -> tuple[ActiveCampaignEmulator, int]:
    """An emulator with the list *list_id* (the first, by default) and the mapped fields."""
    from ac_segment_export.testing import ActiveCampaignEmulator  # noqa: PLC0415

    emu = ActiveCampaignEmulator(api_key="sandbox-key", time_scale=time_scale, record_bodies=False)
    wanted = list_id or 1
    if wanted > _MAX_ID:
        msg = f"--sandbox makes lists 1 to {_MAX_ID}; use a smaller --list-id than {wanted}."
        raise ConfigurationError(msg)
    made = 0
    while made < wanted:
        made = emu.add_list(f"Sandbox list {made + 1}")
    for ref, _ in spec.fields:
        if isinstance(ref, int):
            count = 0
            while count < ref:
                count = emu.add_field(f"Sandbox field {count + 1}")
            continue
        title, perstag = sandbox_field(ref)
        emu.add_field(title, perstag=perstag)
    return emu, wanted

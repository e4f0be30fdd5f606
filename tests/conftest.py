"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import settings

# Property tests are bounded by their example counts; a per-example
# deadline only measures how busy the machine is (CI runners, parallel jobs).
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

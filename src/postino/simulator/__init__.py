"""The simulated phone: ``postino device simulate``.

A separate process that speaks the device protocol over HTTP exactly as the SMS Gateway
for Android app does, so tests of it are tests of what a real phone does. See
``docs/phones.md`` for its options and its deterministic test rules (``#fail``, ``#reply``).
"""

from .options import Options, parse_duration, parse_slots
from .run import run, simulate

__all__ = ["Options", "parse_duration", "parse_slots", "run", "simulate"]

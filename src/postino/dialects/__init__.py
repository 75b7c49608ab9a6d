"""The provider APIs Postino speaks. Each subpackage exposes ``router`` (a FastAPI APIRouter).

Dialects translate, core decides: a dialect parses its provider's request, calls core,
and renders core's answer or error in its provider's shapes. A new dialect is a new
subpackage here; ``discover()`` mounts it.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover() -> list[ModuleType]:
    """Every dialect subpackage that has a ``router``."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"{__name__}.{info.name}")
            if hasattr(module, "router"):
                found.append(module)
    return found

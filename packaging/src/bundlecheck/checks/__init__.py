"""The check modules, and the default registry built from them."""

from __future__ import annotations

from functools import cache

from ..registry import Registry
from . import advice, binary, config, layout, links, prereqs, scripts

MODULES = (advice, binary, config, layout, links, prereqs, scripts)


@cache
def default_registry() -> Registry:
    """Every check shipped with bundlecheck, validated against the catalogue."""
    return Registry.from_modules(MODULES)

"""Registered checks.  Importing this package registers every check module."""

from . import advice, archive, binary, config, layout, prereqs, scripts  # noqa: F401

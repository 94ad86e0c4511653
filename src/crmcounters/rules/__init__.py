"""Automation rules and triggers (SPEC section 6): a pure rule engine.

The engine arrives with its own issue; this package holds its place in the layout.
"""

__all__: list[str] = []

"""Focus mode (SPEC section 4): the ordering that floats items needing attention.

The ordering arrives with its own issue; this package holds its place in the layout.
"""

__all__: list[str] = []

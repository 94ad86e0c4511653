"""One small helper for the package front doors (`__init__` files)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["show_public_paths"]


def show_public_paths(package: str, namespace: Mapping[str, object], names: Iterable[str]) -> None:
    """Set `__module__` of the public classes in `names` to `package` (httpx style).

    Reprs and docs then show `crmcounters.Activity`, not `crmcounters._activities.Activity`.
    Only classes defined in `package`'s own private modules are touched.
    """
    private = f"{package}._"
    for name in names:
        obj = namespace[name]
        if isinstance(obj, type) and obj.__module__.startswith(private):
            obj.__module__ = package

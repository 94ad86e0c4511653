"""The public surface: every exported name is importable, documented and typed (STYLE, trio)."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import crmcounters

PUBLIC_MODULES = [
    "crmcounters",
    "crmcounters.explorer",
    "crmcounters.focus",
    "crmcounters.rules",
    "crmcounters.sql",
    "crmcounters.testing",
    "crmcounters.testing.strategies",
]


def _exports() -> list[tuple[str, str]]:
    pairs = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        pairs.extend((module_name, name) for name in module.__all__)
    return pairs


def test_all_is_unique_and_complete() -> None:
    """One front door: no repeats, every name really there (ruff RUF022 keeps it sorted)."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        names = module.__all__
        assert len(names) == len(set(names)), module_name
        for name in names:
            assert hasattr(module, name), f"{module_name}.{name}"


def test_package_is_typed() -> None:
    """PEP 561: the py.typed marker ships with the package."""
    assert (Path(crmcounters.__file__).parent / "py.typed").exists()


@pytest.mark.parametrize(("module_name", "name"), _exports())
def test_every_public_name_is_importable_documented_and_typed(module_name: str, name: str) -> None:
    """Each class and function in __all__ has a docstring, and functions are fully annotated."""
    module = importlib.import_module(module_name)
    obj = getattr(module, name)
    if inspect.isclass(obj):
        assert inspect.getdoc(obj), f"{module_name}.{name} has no docstring"
        for attribute, member in vars(obj).items():
            if attribute.startswith("_") or not inspect.isfunction(member):
                continue
            assert inspect.getdoc(member), f"{module_name}.{name}.{attribute} has no docstring"
            _assert_annotated(member, f"{module_name}.{name}.{attribute}")
    elif inspect.isfunction(obj):
        assert inspect.getdoc(obj), f"{module_name}.{name} has no docstring"
        _assert_annotated(obj, f"{module_name}.{name}")


def _assert_annotated(function: object, label: str) -> None:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    for parameter in signature.parameters.values():
        if parameter.name in ("self", "cls"):
            continue
        assert parameter.annotation is not inspect.Parameter.empty, f"{label}({parameter.name})"
    assert signature.return_annotation is not inspect.Signature.empty, f"{label} return"


def test_public_classes_live_at_a_public_path() -> None:
    """httpx-style: reprs show crmcounters.X (or crmcounters.rules.X), never a private module."""
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj.__module__.startswith("crmcounters"):
                parts = obj.__module__.split(".")
                assert not any(part.startswith("_") for part in parts), f"{name}: {obj.__module__}"

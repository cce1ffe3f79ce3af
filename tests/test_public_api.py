"""Each package's `__all__` resolves and exports every public error and type (ruff's RUF022
keeps it sorted)."""

from __future__ import annotations

import importlib
import inspect

import pytest

import store
import store.errors
import store.types


@pytest.mark.parametrize("package", ["store", "cp", "controllers", "cp.cli", "cp.replay"])
def test_all_is_unique_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    names = list(module.__all__)
    assert len(names) == len(set(names)), f"{package}.__all__ has duplicates"
    missing = [name for name in names if not hasattr(module, name)]
    assert not missing, f"{package}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("module", [store.errors, store.types])
def test_store_exports_every_public_error_and_type(module: object) -> None:
    public = {
        name
        for name, value in inspect.getmembers(module)
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__  # type: ignore[attr-defined]
    }
    assert public, "nothing public found: the check itself is broken"
    assert public <= set(store.__all__), f"not exported from store: {public - set(store.__all__)}"


def test_error_tree_has_one_root() -> None:
    errors = [getattr(store, name) for name in store.__all__]
    subclasses = [e for e in errors if isinstance(e, type) and issubclass(e, Exception)]
    assert store.StoreError in subclasses
    assert all(issubclass(e, store.StoreError) for e in subclasses)
    assert len(subclasses) == 8

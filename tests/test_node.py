"""How node callables are inspected once when added to a graph."""

from __future__ import annotations

from typing import Any


def test_a_callable_object_with_a_matching_async_ainvoke_gets_it_as_async_twin() -> None:
    from graphkit.node import inspect_callable

    class Both:
        def __call__(self, state: dict[str, Any], config: Any = None) -> dict[str, Any]:
            return {}

        async def ainvoke(self, state: dict[str, Any], config: Any = None) -> dict[str, Any]:
            return {}

    class Mismatch:
        def __call__(self, state: dict[str, Any], config: Any = None) -> dict[str, Any]:
            return {}

        async def ainvoke(self, state: dict[str, Any]) -> dict[str, Any]:
            return {}

    both = Both()
    spec = inspect_callable(both, "node")
    assert not spec.is_async and spec.afn == both.ainvoke
    assert inspect_callable(Mismatch(), "node").afn is None

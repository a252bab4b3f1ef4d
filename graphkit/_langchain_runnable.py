"""A compiled graph (or entrypoint) as a LangChain ``Runnable``, as LangGraph's are.

LangGraph's graphs are LangChain runnables, and programs compose them with LangChain:
``graph | RunnableLambda(...)``, ``prompt.pipe(graph)``, ``RunnablePassthrough.assign(
out=graph)``, ``RunnableParallel(a=graph)``, ``graph.with_retry()``, ``.with_fallbacks(
[...])``, ``.bind(...)``, ``.with_types(...)``, ``.map()``, ``.astream_log(...)``. graphkit
keeps them working without importing LangChain itself: once ``langchain_core`` is
imported (an import hook set when a graph is compiled), LangChain's ``Runnable`` ABC
takes graphkit's graph classes as virtual subclasses (``register``), so LangChain
accepts a graph wherever it takes a runnable; the runnable methods graphkit does not
write itself are LangChain's own, bound to the graph when called (``RunnableMethods``).
What a graph runs is graphkit's ``invoke``/``stream``/``batch``/..., which LangChain's
methods call.
"""

from __future__ import annotations

import abc
from typing import Any

from graphkit._langchain import langchain_loaded, when_imported

BORROWED = frozenset(
    {
        "pipe",
        "with_retry",
        "with_fallbacks",
        "with_types",
        "with_listeners",
        "with_alisteners",
        "bind",
        "assign",
        "pick",
        "map",
        "as_tool",
        "astream_log",
        "transform",
        "atransform",
        "config_specs",
    }
)
"""``Runnable``'s methods (and its ``config_specs`` property) a graph takes from LangChain."""

_registered = False


def register() -> None:
    """Make graphkit's graph classes LangChain runnables (virtual subclasses of its
    ``Runnable``), once: now if ``langchain_core`` is imported, else right after it is
    (``_langchain.when_imported``: graphkit never imports it itself)."""
    if not _registered:
        when_imported(_RUNNABLES_MODULE, _register_in)


_RUNNABLES_MODULE = "langchain_core.runnables.base"
"""Where LangChain's ``Runnable`` is defined."""


def _register_in(module: Any) -> None:
    """``register`` with LangChain's runnables module (LangChain's own package only: a
    stand-in a test harness installs under its name is left alone)."""
    global _registered
    runnable = getattr(module, "Runnable", None)
    if _registered or not langchain_loaded() or not isinstance(runnable, abc.ABCMeta):
        return
    from graphkit.engine.compiled import CompiledStateGraph
    from graphkit.func import Workflow

    runnable.register(CompiledStateGraph)
    runnable.register(Workflow)
    _registered = True


def runnable_method(graph: Any, name: str) -> Any:
    """LangChain's ``Runnable.<name>`` for ``graph`` (bound; a property's value)."""
    try:
        from langchain_core.runnables import Runnable
    except ImportError:
        raise AttributeError(
            f"{type(graph).__name__!r} object has no attribute {name!r}: it is a LangChain "
            "runnable's, and langchain_core is not installed (pip install langchain-core)."
        ) from None
    register()
    return getattr(Runnable, name).__get__(graph, type(graph))


class RunnableMethods:
    """What makes a graph class compose as a LangChain runnable (see the module): ``|``
    both ways, and LangChain's own runnable methods for the names in ``BORROWED``
    (class attributes, not a ``__getattr__``: one would slow every attribute a run
    reads off the graph)."""

    __slots__ = ()

    def __or__(self, other: Any) -> Any:
        """``graph | other``: a LangChain ``RunnableSequence`` running the graph first."""
        return runnable_method(self, "__or__")(other)

    def __ror__(self, other: Any) -> Any:
        """``other | graph``: a LangChain ``RunnableSequence`` running the graph last."""
        return runnable_method(self, "__ror__")(other)


def _lent(name: str) -> Any:
    """``RunnableMethods.<name>``: LangChain's ``Runnable.<name>``, found when called."""

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return runnable_method(self, name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"LangChain's ``Runnable.{name}`` (needs langchain_core)."
    return method


for _name in sorted(BORROWED - {"config_specs"}):
    setattr(RunnableMethods, _name, _lent(_name))
RunnableMethods.config_specs = property(  # type: ignore[attr-defined]
    lambda self: runnable_method(self, "config_specs"),
    doc="LangChain's ``Runnable.config_specs`` (needs langchain_core).",
)

"""``langgraph.pregel``: LangGraph's low-level graph API (``Pregel`` with nodes built by
``NodeBuilder`` that subscribe to channels) has no counterpart in graphkit, whose engine
runs the graphs ``StateGraph`` builds; asking for either says how to write the graph
with the builder. ``graphkit.pregel.types`` re-exports the public types it names."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

USE_THE_BUILDER = (
    "graphkit has no low-level Pregel API ({name}): its engine runs graphs built with "
    "StateGraph. Declare the channels as state keys (`class State(TypedDict): ...`, with "
    "`Annotated[T, reducer]` or a graphkit.channels class such as Topic), each node as "
    "`builder.add_node(name, fn)` and what triggers it as edges (`add_edge`, "
    "`add_conditional_edges`, `Send`), then `builder.compile()`; or use "
    "graphkit.func's @entrypoint/@task for plain Python control flow."
)


__getattr__ = replaced_names(__name__, ("NodeBuilder", "Pregel"), USE_THE_BUILDER)

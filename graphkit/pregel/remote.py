"""``langgraph.pregel.remote``: ``RemoteGraph`` is a client of LangGraph Server's HTTP
API, which graphkit does not implement; asking for it says what to use instead."""

from graphkit._replaced import replaced_names

__all__: list[str] = []

_NO_SERVER = (
    "graphkit has no RemoteGraph: it is a client of LangGraph Server's API, which graphkit "
    "does not serve. Import the graph and run it in process (`graph.invoke(...)`), share "
    "its threads between processes through graphkit.checkpoint.postgres.PostgresSaver, "
    "or explore runs with `graphkit studio`."
)


__getattr__ = replaced_names(__name__, ("RemoteException", "RemoteGraph"), _NO_SERVER)

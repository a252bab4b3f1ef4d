"""The studio page opening a long thread: 10,000 checkpoints on an LMDB saver.

``studio_open_10000``: what the page asks the server, over HTTP on loopback, when a
thread is opened: the threads list, the newest page of its history (50
checkpoints, paged from the saver with ``before``, never loaded whole), the latest
checkpoint in full (values, diff against its parent, interrupts), and the next
page of history (what "older checkpoints" fetches). graphkit only (LangGraph's
studio is a hosted service: no counterpart to run here).
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable
from typing import Any, TypedDict

from graphkit.bench.harness import Workload, scratch_dir
from graphkit.types import RunnableConfig

CHECKPOINTS = 10_000


class _State(TypedDict):
    n: int


def _long_thread(path: str, checkpoints: int) -> Any:
    """A graph on an LMDB saver at ``path`` whose thread "long" has ``checkpoints``."""
    from graphkit import END, StateGraph
    from graphkit.checkpoint.lmdb import LMDBSaver

    builder = StateGraph(_State)
    builder.add_node("tick", lambda s: {"n": s["n"] + 1})
    builder.set_entry_point("tick")
    builder.add_conditional_edges("tick", lambda s: "tick" if s["n"] < checkpoints - 2 else END)
    graph = builder.compile(checkpointer=LMDBSaver(path, sync=False))
    config: RunnableConfig = {
        "configurable": {"thread_id": "long"},
        "recursion_limit": checkpoints + 10,
    }
    graph.invoke({"n": 0}, config)
    return graph


def _studio_open(checkpoints: int) -> Callable[[], object]:
    from graphkit.studio import Studio, StudioServer

    graph = _long_thread(scratch_dir("bench-studio-"), checkpoints)
    server = StudioServer(Studio(graph))
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    base, headers = f"http://127.0.0.1:{server.port}", {"X-Graphkit-Token": server.token}

    def get(path: str) -> Any:
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)

    assert get("/api/threads")["threads"][0]["checkpoints"] == checkpoints

    def open_thread() -> object:
        get("/api/threads")
        page = get("/api/threads/long/history?limit=50")
        get(f"/api/threads/long/checkpoints/{page['latest_id']}")
        oldest = page["checkpoints"][-1]["checkpoint_id"]
        return get(f"/api/threads/long/history?limit=50&before={oldest}")

    return open_thread


WORKLOADS = [
    Workload(
        name=f"studio_open_{CHECKPOINTS}",
        description=f"the studio opening a thread of {CHECKPOINTS:,} LMDB checkpoints over HTTP",
        graphkit=lambda: _studio_open(CHECKPOINTS),
        unit="open",
        repeat=5,
    )
]

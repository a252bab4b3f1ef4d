"""Instructions per ``invoke`` of the engine's small workloads, counted by callgrind.

Timings on a shared machine swing by half; instruction counts do not. This runs a
workload of ``graphkit.bench.bench_engine`` under ``valgrind --tool=callgrind`` with
instrumentation off during start-up and warm-up, switches it on (``callgrind_control``)
for ``N`` invokes, and prints the instructions per invoke (the process exits right
after, so teardown is not counted). Needs valgrind; takes 10-30 s per workload:

    python benchmarks/invoke_instructions.py one fanout_1 fanout_10 chain
    PYTHONPATH=/path/to/other/checkout python benchmarks/invoke_instructions.py one

``one``: a one-node graph (the fixed cost of an invoke); ``fanout_N``: N ``Send``s
joined by a list reducer; ``chain``: the 100-node chain; ``chain_messages`` /
``chain_messages_lc``: one ``stream(stream_mode="messages")`` of it, the second with
langchain_core imported (the tap for LangChain models' tokens is then set up, though
no node calls one); ``tool_node`` / ``lc_tool_node``: a ``ToolNode`` running one call of
a graphkit ``@tool`` / of a LangChain ``@tool`` (given LangChain's ``AIMessage``). Any workload with ``_lc`` appended runs with langchain_core
imported (each task's config is then LangChain's current config while it runs).
The fixed part of a fan-out is about ``fanout_1 - (fanout_10 - fanout_1) / 9``. Threads count too: a fan-out's
figure varies by a few thousand between runs (the helper overseer's looks).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time

COUNTS = {"chain": 50, "chain_lc": 50, "chain_messages": 30, "chain_messages_lc": 30}
"""Invokes counted per workload (default 300)."""

_DRIVER = """
import os, sys, time
from typing import Any, TypedDict
from graphkit.bench import bench_engine

kind = {kind!r}
if kind.endswith("_lc"):  # (LangChain loaded, no LangChain runnable in the graph)
    import langchain_core.messages
    kind = kind[:-3]
if kind == "one":
    from graphkit import END, START, StateGraph

    class S(TypedDict):
        x: int

    builder = StateGraph(S)
    builder.add_node("a", lambda s: {{"x": s["x"] + 1}})
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    graph = builder.compile()
    call: Any = lambda: graph.invoke({{"x": 0}})
elif kind == "chain":
    call = bench_engine.chain("graphkit")
elif kind == "chain_messages":
    chain_graph = bench_engine.chain_graph("graphkit")
    call = lambda: list(chain_graph.stream({{"x": 0}}, stream_mode="messages"))
elif kind in ("tool_node", "lc_tool_node"):  # (one tool call: graphkit's @tool, LangChain's)
    from graphkit import END, START, MessagesState, StateGraph
    from graphkit.prebuilt import ToolNode

    if kind == "lc_tool_node":
        from langchain_core.messages import AIMessage
        from langchain_core.tools import tool
    else:
        from graphkit import AIMessage, tool

    @tool
    def double(x: int) -> int:
        '''Double x.'''
        return 2 * x

    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([double]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    graph = builder.compile()
    asked = AIMessage("", tool_calls=[{{"name": "double", "args": {{"x": 2}}, "id": "c1"}}])
    call = lambda: graph.invoke({{"messages": [asked]}})
else:
    call = bench_engine.fanout("graphkit", int(kind.split("_")[1]))
for _ in range(50):
    call()
open({ready!r}, "w").close()
while not os.path.exists({go!r}):
    time.sleep(0.01)
for _ in range({n}):
    call()
os._exit(0)
"""


def count(kind: str, n: int) -> float:
    """Instructions per invoke of workload ``kind`` over ``n`` invokes."""
    with tempfile.TemporaryDirectory() as tmp:
        ready, go, out = f"{tmp}/ready", f"{tmp}/go", f"{tmp}/callgrind.out"
        driver = _DRIVER.format(kind=kind, ready=ready, go=go, n=n)
        proc = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-c",
                driver,
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        while not os.path.exists(ready):
            if proc.poll() is not None:
                raise SystemExit(proc.stderr.read() if proc.stderr else "driver failed")
            time.sleep(0.1)
        subprocess.run(["callgrind_control", "-i", "on", str(proc.pid)], capture_output=True)
        open(go, "w").close()
        _, err = proc.communicate()
    found = re.search(r"Collected : (\d+)", err)
    if found is None:
        raise SystemExit(err)
    return int(found.group(1)) / n


def main(kinds: list[str]) -> None:
    for kind in kinds or ["one", "fanout_1", "fanout_10", "chain"]:
        n = COUNTS.get(kind, 300)
        print(f"{kind:12s} {count(kind, n) / 1000:10.1f}k instructions per invoke ({n} invokes)")


if __name__ == "__main__":
    main(sys.argv[1:])

"""A chatbot that remembers users across threads: checkpoints + long-term memory in one LMDB dir.

This is what ``graphkit demo`` and ``make demo`` run. Its code is
``graphkit/demo.py``, shipped inside the package so the demo runs from any
install; read it there. This file runs it from a checkout:

    python examples/memory_chatbot_graph.py [DATA_DIR]
    graphkit draw examples/memory_chatbot_graph.py:demo_graph -o chat.svg
"""

from __future__ import annotations

import sys

from graphkit.demo import DEFAULT_DATA_DIR, build_graph, demo_graph, main

__all__ = ["build_graph", "demo_graph", "main"]

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_DATA_DIR))

"""``graphkit studio``: the command line of the studio (registered by :mod:`graphkit.cli`)."""

from __future__ import annotations

import argparse
import sys
import webbrowser
from pathlib import Path
from typing import Any

__all__ = ["add_command", "cmd_studio"]

DESCRIPTION = """\
Serve the studio page for a graph: its drawing, the threads of its checkpoint
saver, each thread's history (timeline, fork tree, state diffs, interrupts), live
runs, resumes and forks, and its memory store. Works offline.

TARGET is FILE.py[:NAME] or module[:NAME], as for `graphkit draw`. Without
--checkpointer the graph's own saver is used (an in-memory one is added if it has
none); without --store, the graph's own store.

The printed URL carries a random token that every request must show. The server
binds 127.0.0.1; another --host needs --allow-remote (anyone who can reach it and
holds the token can run the graph).

examples:
  graphkit studio --graph examples/human_in_the_loop.py:graph
  graphkit studio --graph app.py:graph --checkpointer .graphkit-data --store .graphkit-data
"""


def add_command(sub: Any, command: Any) -> None:
    """Register ``studio`` on the CLI's subparsers (``command`` makes a subparser)."""
    p: argparse.ArgumentParser = command(
        sub, "studio", "see, replay and steer runs in the browser (offline)", DESCRIPTION
    )
    p.add_argument(
        "--graph", required=True, metavar="TARGET", help="FILE.py[:NAME] or module[:NAME]"
    )
    p.add_argument("--checkpointer", metavar="PATH", help="an LMDB directory of checkpoints")
    p.add_argument("--store", metavar="PATH", help="an LMDB directory of a memory store")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=_port, default=0, help="port (default: any free port)")
    p.add_argument(
        "--allow-remote", action="store_true", help="allow a --host that is not loopback"
    )
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.set_defaults(handler=cmd_studio)


def cmd_studio(args: argparse.Namespace) -> int:
    """``graphkit studio``: load the graph, open the saver and store, serve until Ctrl-C."""
    from graphkit.cli import UsageError, load_graph
    from graphkit.studio.server import StudioServer, is_loopback
    from graphkit.studio.service import Studio

    if not is_loopback(args.host) and not args.allow_remote:
        raise UsageError(
            f"--host {args.host} is not a loopback address: other machines could reach the "
            "studio and run the graph; pass --allow-remote if that is what you want"
        )
    graph = load_graph(args.graph)
    store = open_store(args.store, graph.store) if args.store else None
    saver = open_checkpointer(args.checkpointer) if args.checkpointer else None
    try:
        server = StudioServer(Studio(graph, checkpointer=saver, store=store), args.host, args.port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    if not server.loopback:
        print(
            f"graphkit studio: WARNING: listening on {args.host}, not loopback: anyone who can "
            "reach this address and holds the token can run the graph",
            file=sys.stderr,
        )
    print(f"graphkit studio: {server.url}", flush=True)
    print("(Ctrl-C to stop)", file=sys.stderr, flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("graphkit studio: stopped", file=sys.stderr)
    finally:
        server.server_close()
        server.studio.close()
        for opened in (saver, store):
            if opened is not None:
                opened.close()
    return 0


def open_checkpointer(path: str) -> Any:
    """An LMDBSaver on ``path`` (created if missing: the studio can start new threads)."""
    from graphkit.checkpoint.lmdb import LMDBSaver
    from graphkit.cli import UsageError

    if "://" in path:
        raise UsageError(
            f"--checkpointer {path}: only LMDB directories are supported (no database URLs yet)"
        )
    if Path(path).exists() and not Path(path).is_dir():
        raise UsageError(f"--checkpointer {path} is not a directory")
    return LMDBSaver(path)


def open_store(path: str, like: Any = None) -> Any:
    """An LMDBStore on ``path`` (created if missing), opened as it was written: with its
    vector index at the dims it saved. Queries and new items are embedded by ``like``'s
    embedder (the graph's own store) when its dims match, else by the embedder the
    store recorded (as ``graphkit store --query`` does)."""
    from graphkit.cli import UsageError, _query_embedder
    from graphkit.stores.store import LMDBStore

    if "://" in path:
        raise UsageError(
            f"--store {path}: only LMDB directories are supported (no database URLs yet)"
        )
    if Path(path).exists() and not Path(path).is_dir():
        raise UsageError(f"--store {path} is not a directory")
    index = getattr(like, "index_config", None)

    def choose(dims: int, recorded: str | None) -> Any:
        if index and index.get("dims") == dims and index.get("embed") is not None:
            return index["embed"]
        return _query_embedder(path, dims, recorded, "recorded")

    if (Path(path) / "data.mdb").is_file():
        try:
            return LMDBStore.open_existing(path, choose_embed=choose, readonly=False)
        except LookupError:
            pass  # an LMDB directory without a store yet (the checkpoints', say)
    return LMDBStore(path, index=index)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value}")
    return value

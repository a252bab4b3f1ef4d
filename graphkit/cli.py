"""The ``graphkit`` command: draw graphs, inspect LMDB checkpoints and memories, benchmark, demo.

::

    graphkit draw examples/memory_chatbot_graph.py:demo_graph --format svg -o chat.svg
    graphkit threads .graphkit-data
    graphkit history .graphkit-data 1 --limit 5
    graphkit state .graphkit-data 1
    graphkit store .graphkit-data namespaces
    graphkit store .graphkit-data search memories/1 --query "name"
    graphkit bench --quick --only chain loop
    graphkit demo

Exit codes: 0 success, 2 usage errors (bad path, unknown graph or thread, bad
option), 1 runtime failures. Errors are one line on stderr. Every listing takes
``--json`` for scripts.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib
import importlib.util
import inspect
import json
import logging
import math
import os
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from graphkit.checkpoint.base import ThreadSummary

__all__ = ["UsageError", "main"]

FORMATS = ("dot", "mermaid", "ascii", "svg", "png")
"""Output formats of ``graphkit draw``."""
RENDERERS = ("auto", "builtin", "dot")
"""Who lays out ``graphkit draw``'s SVG (see ``DrawableGraph.draw_svg``)."""


class UsageError(Exception):
    """The command line asks for something that is not there: exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) that point at ``--help``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------- entry
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    _printable_output()
    _show_long_steps()
    try:
        with _any_int_size():
            return handler(args)
    except UsageError as exc:
        print(f"graphkit {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        start = "\n" if sys.stderr.isatty() else ""  # past a progress line redrawn in place
        print(f"{start}graphkit {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        sys.stderr.close()  # e.g. `graphkit state ... | head`: not an error
        return 0
    except Exception as exc:
        message = str(exc).splitlines()[0] if str(exc) else ""
        print(f"graphkit {args.command}: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1


def _show_long_steps() -> None:
    """Show on stderr what the stores say they are doing (rebuilding a vector index from
    LMDB takes seconds per 50k rows), unless the program configured logging itself."""
    logger = logging.getLogger("stores")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("graphkit: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _printable_output() -> None:
    """Print what stored data holds even when the terminal cannot encode it (lone
    surrogates in a thread id, say): escaped, instead of failing with UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


@contextmanager
def _any_int_size() -> Iterator[None]:
    """Show stored ints of any size (Python refuses str() past 4300 digits by default)."""
    get = getattr(sys, "get_int_max_str_digits", None)
    if get is None:
        yield
        return
    before = get()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(before)


def _version() -> str:
    """The installed distribution's version (the source tree's when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("graphkit")
    except PackageNotFoundError:
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = _Parser(
        prog="graphkit",
        description="Draw graphkit graphs, inspect LMDB checkpoints and memory stores, "
        "run the benchmark suite and the demo.",
        epilog="Run `graphkit COMMAND --help` for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"graphkit {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_draw(sub)
    _add_threads(sub)
    _add_history(sub)
    _add_state(sub)
    _add_store(sub)
    _add_bench(sub)
    _add_demo(sub)
    _add_studio(sub)
    return parser


def _command(sub: Any, name: str, help: str, description: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _lmdb_path_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "path",
        metavar="PATH",
        help="the LMDB directory (holding data.mdb), or a postgresql:// URL",
    )


def is_postgres_url(path: str) -> bool:
    """Whether a PATH argument names a PostgreSQL database instead of an LMDB directory."""
    return path.startswith(("postgresql://", "postgres://"))


@contextmanager
def _postgres(path: str, what: str) -> Iterator[None]:
    """Turn a missing driver, an unreachable server or missing tables into UsageErrors."""
    try:
        yield
    except ImportError as exc:
        raise UsageError(f"{exc}") from None
    except Exception as exc:
        name = type(exc).__name__
        if name == "UndefinedTable":
            raise UsageError(
                f"{_hide_password(path)} holds no {what} (its tables do not exist: "
                "a program creates them with .setup())"
            ) from None
        if name in ("PostgresConnectionError", "OperationalError", "PoolTimeout"):
            raise UsageError(f"cannot reach {_hide_password(path)}: {exc}") from None
        raise


def _hide_password(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages)."""
    import re

    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _ns_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ns", default="", help="checkpoint namespace (default: the root graph)")


# -------------------------------------------------------------------- draw
def _add_draw(sub: Any) -> None:
    p = _command(
        sub,
        "draw",
        "draw a graph as DOT, mermaid, ascii, SVG or PNG",
        "Load a module or a .py file and draw a graph in it.\n\n"
        "TARGET is FILE.py[:NAME] or dotted.module[:NAME]. NAME is a compiled graph, a\n"
        "StateGraph builder (compiled for you) or a function that returns one and takes\n"
        "no arguments. Without NAME, the module's only graph is used.\n\n"
        "examples:\n"
        "  graphkit draw app.py:graph\n"
        "  graphkit draw examples/memory_chatbot_graph.py:demo_graph -o chat.svg\n"
        "  graphkit draw mypkg.agents:builder --format mermaid --xray",
    )
    p.add_argument("target", metavar="TARGET", help="FILE.py[:NAME] or module[:NAME]")
    p.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default=None,
        help="output format (default: from -o's extension, else dot); png needs Graphviz",
    )
    p.add_argument(
        "--renderer",
        choices=RENDERERS,
        default="auto",
        help="who lays out svg: Graphviz's dot, graphkit's own layout (builtin, no "
        "dependency), or auto (dot when installed, else builtin; the default)",
    )
    p.add_argument("--xray", action="store_true", help="draw subgraphs' insides as clusters")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(handler=cmd_draw)


def cmd_draw(args: argparse.Namespace) -> int:
    """``graphkit draw``: find the graph, render it, print or write it."""
    fmt = args.format or _format_from_path(args.output) or "dot"
    if args.output and not args.format and not _format_from_path(args.output):
        raise UsageError(
            f"cannot tell the format from -o {args.output}: name the file .dot/.gv, .mmd, "
            ".txt, .svg or .png, or pass --format (one of: " + ", ".join(FORMATS) + ")"
        )
    with redirect_stdout(sys.stderr):  # what the file prints is not part of the drawing
        graph = load_graph(args.target)
        drawable = graph.get_graph(xray=args.xray)
    data: str | bytes
    if fmt == "dot":
        data = drawable.to_dot()
    elif fmt == "mermaid":
        data = drawable.draw_mermaid()
    elif fmt == "ascii":
        data = drawable.draw_ascii()
    elif fmt == "svg":
        data = drawable.draw_svg(renderer=args.renderer)
    else:
        data = _draw_png(drawable)
    if args.output:
        if isinstance(data, bytes):
            Path(args.output).write_bytes(data)
        else:
            Path(args.output).write_text(data, encoding="utf-8")
        how = ""
        if fmt == "svg":
            from graphkit.draw import graphviz_installed

            dot = args.renderer == "dot" or (args.renderer == "auto" and graphviz_installed())
            how = " (laid out by Graphviz's dot)" if dot else " (graphkit's own layout)"
        print(f"graphkit draw: wrote {fmt} to {args.output}{how}", file=sys.stderr)
    elif isinstance(data, bytes):
        if sys.stdout.isatty():
            raise UsageError("PNG is binary: write it with -o FILE.png or redirect stdout")
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)
    return 0


def _draw_png(drawable: Any) -> bytes:
    from graphkit.draw import GraphvizNotFoundError

    try:
        data: bytes = drawable.draw_png()
    except GraphvizNotFoundError:
        raise GraphvizNotFoundError(
            "PNG needs Graphviz's `dot` program, which is not installed (apt install graphviz, "
            "brew install graphviz); SVG does not: write -o FILE.svg"
        ) from None
    return data


def _format_from_path(path: str | None) -> str | None:
    if not path:
        return None
    ext = Path(path).suffix.lower().lstrip(".")
    return {"gv": "dot", "mmd": "mermaid", "txt": "ascii"}.get(ext, ext if ext in FORMATS else None)


def load_graph(target: str) -> Any:
    """The compiled graph that ``target`` (``FILE.py[:NAME]`` or ``module[:NAME]``) names."""
    location, _, name = target.rpartition(":") if _has_name(target) else (target, "", "")
    module = load_module(location)
    if name:
        if not hasattr(module, name):
            found = ", ".join(_graph_names(module)) or "none"
            raise UsageError(f"{location} has no attribute {name!r} (graphs in it: {found})")
        return _as_compiled(getattr(module, name), f"{location}:{name}")
    names = _graph_names(module)
    compiled = [n for n in names if _is_compiled(getattr(module, n))]
    chosen = compiled or names
    if len(chosen) == 1:
        return _as_compiled(getattr(module, chosen[0]), f"{location}:{chosen[0]}")
    if not chosen:
        raise UsageError(
            f"{location} defines no graph at module level: name one, e.g. "
            f"{location}:build_graph for a function returning a graph"
        )
    raise UsageError(
        f"{location} has several graphs ({', '.join(chosen)}): pick one with {location}:{chosen[0]}"
    )


def _has_name(target: str) -> bool:
    head, sep, tail = target.rpartition(":")
    return bool(sep) and tail.isidentifier() and not (len(head) == 1 and head.isalpha())


def load_module(location: str) -> ModuleType:
    """Import a ``.py`` file (by path) or a module (by dotted name, from the cwd too)."""
    path = Path(location)
    if path.is_dir():
        raise UsageError(
            f"{location} is a directory: name a Python file in it (FILE.py[:NAME]) "
            "or a module (package.module[:NAME])"
        )
    if location.endswith(".py") or os.sep in location or "/" in location:
        if not path.is_file():
            raise UsageError(f"no such file: {location}")
        module_name = f"_graphkit_target_{path.stem}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise UsageError(f"cannot import {location}: not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.path.insert(0, str(path.resolve().parent))
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    if not all(part.isidentifier() for part in location.split(".")):
        raise UsageError(
            f"{location!r} is neither a .py file nor a module name (like package.module)"
        )
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if exc.name and location.startswith(exc.name):
            raise UsageError(f"no module named {location!r} (nor a file of that name)") from None
        raise


def _graph_names(module: ModuleType) -> list[str]:
    from graphkit.graph.state import StateGraph

    return [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and (_is_compiled(v) or isinstance(v, StateGraph))
    ]


def _is_compiled(value: Any) -> bool:
    from graphkit.engine.compiled import CompiledStateGraph

    return isinstance(value, CompiledStateGraph)


def _as_compiled(value: Any, where: str) -> Any:
    from graphkit.graph.state import StateGraph

    if inspect.isfunction(value):
        required = [
            p
            for p in inspect.signature(value).parameters.values()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        if required:
            raise UsageError(
                f"{where} is a function that needs arguments "
                f"({', '.join(p.name for p in required)}): name a graph instead"
            )
        value = value()
    if isinstance(value, StateGraph):
        return value.compile()
    if not _is_compiled(value):
        raise UsageError(f"{where} is a {type(value).__name__}, not a graph or a StateGraph")
    return value


# ------------------------------------------------------------- checkpoints
def _add_threads(sub: Any) -> None:
    p = _command(
        sub,
        "threads",
        "list the threads of a checkpoint store (LMDB directory or postgresql:// URL)",
        "List every thread in an LMDBSaver directory: its checkpoint count and the time\n"
        "of its latest checkpoint (newest thread first).\n\n"
        "example:\n  graphkit threads .graphkit-data",
    )
    _lmdb_path_arg(p)
    _json_flag(p)
    p.set_defaults(handler=cmd_threads)


def _add_history(sub: Any) -> None:
    p = _command(
        sub,
        "history",
        "walk a thread's checkpoints, newest first",
        "Show a thread's checkpoints newest first: id, time, step, source, the nodes\n"
        "that wrote in that step and the nodes that run next.\n\n"
        "example:\n  graphkit history .graphkit-data 1 --limit 5",
    )
    _lmdb_path_arg(p)
    p.add_argument("thread_id", metavar="THREAD_ID")
    p.add_argument("--limit", type=_positive, default=20, help="at most N checkpoints (20)")
    _ns_flag(p)
    _json_flag(p)
    p.set_defaults(handler=cmd_history)


def _add_state(sub: Any) -> None:
    p = _command(
        sub,
        "state",
        "print the values of a thread's checkpoint",
        "Print the state values saved in a checkpoint: the latest of the thread, or\n"
        "the one --checkpoint names (ids from `graphkit history`).\n\n"
        "example:\n  graphkit state .graphkit-data 1",
    )
    _lmdb_path_arg(p)
    p.add_argument("thread_id", metavar="THREAD_ID")
    p.add_argument("--checkpoint", metavar="ID", help="a checkpoint id (default: the latest)")
    _ns_flag(p)
    _json_flag(p)
    p.set_defaults(handler=cmd_state)


@contextmanager
def open_saver(path: str) -> Iterator[Any]:
    """A read-only LMDBSaver on an existing directory.

    Never creates anything: not the directory (a typo is a usage error), not a
    database (a store-only directory has no checkpoints), not a lock file on a
    read-only mount.
    """
    if is_postgres_url(path):
        with _postgres(path, "checkpoints"):
            from graphkit.checkpoint.postgres import PostgresSaver

            with PostgresSaver.from_conn_string(path) as pg_saver:
                yield pg_saver
        return
    from graphkit.checkpoint.lmdb import LMDBSaver

    env = _open_readonly(path)
    try:
        saver = LMDBSaver(env=env)
    except LookupError:
        raise UsageError(
            f"{path} holds no checkpoints (no LMDBSaver wrote there); "
            f"`graphkit store {path} namespaces` inspects a memory store"
        ) from None
    finally:
        env.close()  # the saver holds its own reference
    try:
        yield saver
    finally:
        saver.close()


def _open_readonly(path: str) -> Any:
    """The LMDB environment at ``path``, opened read-only."""
    _check_lmdb_dir(path)
    from graphkit.stores import LMDBEnv

    return LMDBEnv(path, readonly=True)


def _check_lmdb_dir(path: str) -> None:
    if not Path(path).is_dir():
        raise UsageError(f"no such directory: {path}")
    if not (Path(path) / "data.mdb").is_file():
        raise UsageError(f"{path} is not an LMDB store (no data.mdb in it)")


def cmd_threads(args: argparse.Namespace) -> int:
    """``graphkit threads``."""
    with open_saver(args.path) as saver:
        rows = saver.list_threads()
    if args.json:
        _print_json([_row_dict(r) for r in rows])
        return 0
    if not rows:
        print(f"no threads in {args.path}")
        return 0
    print(
        format_table(
            ("thread", "checkpoints", "namespaces", "latest (UTC)", "latest checkpoint id"),
            [
                (r.thread_id, str(r.checkpoints), str(r.namespaces), r.latest_time, r.latest_id)
                for r in rows
            ],
            right={1, 2},
        )
    )
    return 0


def _row_dict(row: ThreadSummary) -> dict[str, Any]:
    return dataclasses.asdict(row)


def cmd_history(args: argparse.Namespace) -> int:
    """``graphkit history``."""
    from graphkit.engine.frontier import next_names, ran_names

    config = {"configurable": {"thread_id": args.thread_id, "checkpoint_ns": args.ns}}
    with open_saver(args.path) as saver:
        items = list(saver.list(config, limit=args.limit))
    if not items:
        raise UsageError(_no_thread(args.path, args.thread_id, args.ns))
    rows = []
    for item in items:
        meta = item.metadata or {}
        rows.append(
            {
                "checkpoint_id": item.checkpoint["id"],
                "time": item.checkpoint.get("ts", ""),
                "step": meta.get("step"),
                "source": meta.get("source"),
                "writes": sorted(ran_names(item.checkpoint.get("frontier"), meta)),
                "next": list(next_names(item.checkpoint.get("frontier") or {})),
                "parent_id": (item.parent_config or {})
                .get("configurable", {})
                .get("checkpoint_id"),
            }
        )
    for row, below in zip(rows, [*rows[1:], None], strict=True):
        # a fork: the checkpoint does not continue the one listed below it, but an earlier
        # one (update_state or a replay from a past checkpoint)
        row["fork"] = bool(
            below and row["parent_id"] and row["parent_id"] != below["checkpoint_id"]
        )
    if args.json:
        _print_json(rows)
        return 0
    print(
        format_table(
            ("checkpoint id", "parent", "time (UTC)", "step", "source", "written by", "next"),
            [
                (
                    r["checkpoint_id"],
                    _parent_cell(r, last=i == len(rows) - 1),
                    _short_time(r["time"]),
                    str(r["step"]),
                    str(r["source"]),
                    clip_names(r["writes"]),
                    clip_names(r["next"]),
                )
                for i, r in enumerate(rows)
            ],
            right={3},
        )
    )
    if any(r["fork"] for r in rows):
        print(
            "(fork: that checkpoint branches from an earlier one, the parent whose id ends "
            "as shown, not from the row below it)"
        )
    return 0


def _parent_cell(row: dict[str, Any], *, last: bool) -> str:
    """``↓`` when the parent is the row below; else the end of its id, marked as a fork."""
    parent = row["parent_id"]
    if not parent:
        return "-"
    if row["fork"] or last:
        return "…" + parent[-12:] + (" fork" if row["fork"] else "")
    return "↓"


def clip_names(names: Sequence[str], width: int = 32) -> str:
    """Names joined by commas, cut to about ``width`` characters with a count of the rest.

    >>> clip_names(["a", "b"])
    'a, b'
    >>> clip_names([f"worker_{i}" for i in range(12)], width=30)
    'worker_0, worker_1, … +10 more'
    """
    if not names:
        return "-"
    text = ", ".join(names)
    if len(text) <= width:
        return text
    shown: list[str] = []
    for i, name in enumerate(names):
        rest = f"… +{len(names) - i} more"
        if len(", ".join([*shown, name, rest])) > width:
            if shown:
                return ", ".join([*shown, rest])
            after = f" +{len(names) - 1} more"
            return _clip(name, width - len(after)) + after
        shown.append(name)
    return text


def _no_thread(path: str, thread_id: str, ns: str) -> str:
    where = f" namespace {ns!r}" if ns else ""
    return (
        f"no checkpoints for thread {thread_id!r}{where} in {path} "
        f"(`graphkit threads {path}` lists the threads)"
    )


def _short_time(ts: str) -> str:
    try:
        return (
            dt.datetime.fromisoformat(ts).astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        )
    except ValueError:
        return ts


def cmd_state(args: argparse.Namespace) -> int:
    """``graphkit state``."""
    from graphkit.engine.frontier import next_names
    from graphkit.engine.state import pending_interrupts

    configurable = {"thread_id": args.thread_id, "checkpoint_ns": args.ns}
    if args.checkpoint:
        try:
            uuid.UUID(args.checkpoint)
        except ValueError:
            raise UsageError(
                f"--checkpoint {args.checkpoint!r} is not a checkpoint id "
                "(ids look like 0193a1b2-...; see `graphkit history`)"
            ) from None
        configurable["checkpoint_id"] = args.checkpoint
    with open_saver(args.path) as saver:
        item = saver.get_tuple({"configurable": configurable})
    if item is None:
        if args.checkpoint:
            raise UsageError(
                f"thread {args.thread_id!r} has no checkpoint {args.checkpoint} "
                f"(`graphkit history {args.path} {args.thread_id}` lists them)"
            )
        raise UsageError(_no_thread(args.path, args.thread_id, args.ns))
    meta = item.metadata or {}
    values = item.checkpoint["channel_values"]
    head = {
        "thread_id": args.thread_id,
        "checkpoint_id": item.checkpoint["id"],
        "time": item.checkpoint.get("ts"),
        "step": meta.get("step"),
        "source": meta.get("source"),
        "next": list(next_names(item.checkpoint.get("frontier") or {})),
    }
    waiting = [
        {"node": node, "task_id": task_id, "interrupt_id": interrupt.id, "value": interrupt.value}
        for node, task_id, interrupt in pending_interrupts(item)
    ]
    if args.json:
        _print_json(head | {"interrupts": waiting, "values": values})
        return 0
    for key, value in head.items():
        shown = ", ".join(value) or "-" if isinstance(value, list) else value
        print(f"{key + ':':<15}{shown}")
    if waiting:
        nodes = ", ".join(dict.fromkeys(w["node"] for w in waiting))
        print(f"{'waiting:':<15}{nodes} paused at interrupt() (resume with Command(resume=...))")
        print("interrupts:")
        for w in waiting:
            print(
                f"  {w['node']} [{w['interrupt_id'] or w['task_id']}]: {_describe(w['value'], '    ')}"
            )
    print("values:")
    for key in sorted(values):
        print(f"  {key}: {_describe(values[key], '    ')}")
    return 0


def _describe(value: Any, indent: str) -> str:
    """A readable multi-line rendering of a state value (messages one per line)."""
    if isinstance(value, list) and value and all(_is_message(v) for v in value):
        lines = [f"{len(value)} messages"]
        lines += [f"{indent}{_message_line(m)}" for m in value]
        return "\n".join(lines)
    text = json.dumps(_jsonable(value), ensure_ascii=False, default=repr)
    if len(text) <= 100:
        return text
    pretty = json.dumps(_jsonable(value), ensure_ascii=False, indent=2, default=repr)
    return "\n" + "\n".join(indent + line for line in pretty.splitlines())


def _is_message(value: Any) -> bool:
    return hasattr(value, "type") and hasattr(value, "content") and hasattr(value, "model_dump")


def _message_line(message: Any) -> str:
    text = getattr(message, "text", None)
    text = text if isinstance(text, str) else str(message.content)
    calls = getattr(message, "tool_calls", None)
    extra = f"  [tool calls: {', '.join(c['name'] for c in calls)}]" if calls else ""
    return f"{message.type:>6}: {text.replace(chr(10), ' ')[:200]}{extra}"


_SHOWN_DEPTH = 100
"""Containers nested deeper than this are shown as a note (graphkit stores up to ~1000
levels; rendering them recursed past Python's limit: a RecursionError, not a state)."""


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Values as JSON can hold them: pydantic models dumped, sets/tuples as lists."""
    if depth >= _SHOWN_DEPTH and isinstance(value, (dict, list, tuple, set, frozenset)):
        return f"<{type(value).__name__} nested deeper than {_SHOWN_DEPTH} levels: not shown>"
    if hasattr(value, "model_dump"):
        return _jsonable(value.model_dump(mode="json"), depth + 1)
    if isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v, depth + 1) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return repr(value)


# ------------------------------------------------------------------- store
def _add_store(sub: Any) -> None:
    p = _command(
        sub,
        "store",
        "inspect a memory store (LMDB directory or postgresql:// URL)",
        "Inspect an LMDBStore directory.\n\n"
        'NAMESPACE is written with slashes: memories/1 is ("memories", "1"); an empty\n'
        'NAMESPACE ("") is the whole store. --query embeds the text with the embedder\n'
        'the store recorded (e.g. "hash", or "openai:text-embedding-3-small", which needs\n'
        "its API key); --embed provider:model names it for a store indexed with a custom one.\n\n"
        "examples:\n"
        "  graphkit store .graphkit-data namespaces\n"
        '  graphkit store .graphkit-data search memories/1 --query "what is my name"',
    )
    _lmdb_path_arg(p)
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser, required=True)
    ns = actions.add_parser(
        "namespaces", help="list namespaces", description="List the store's namespaces."
    )
    ns.add_argument("--prefix", default="", help="only under this NAMESPACE (e.g. memories)")
    ns.add_argument("--limit", type=_positive, default=1000, help="at most N (1000)")
    _json_flag(ns)
    ns.set_defaults(handler=cmd_store_namespaces)
    search = actions.add_parser(
        "search",
        help="list or search items under a namespace",
        description="Items under NAMESPACE (a prefix), ranked by similarity to --query if given.",
    )
    search.add_argument("namespace", metavar="NAMESPACE", help="e.g. memories/1")
    search.add_argument("--query", help="rank by semantic similarity to this text")
    search.add_argument(
        "--embed", metavar="PROVIDER:MODEL", help="embed --query with this (default: as recorded)"
    )
    search.add_argument("--limit", type=_positive, default=10, help="at most N items (10)")
    _json_flag(search)
    search.set_defaults(handler=cmd_store_search)


def parse_namespace(text: str) -> tuple[str, ...]:
    """``"memories/1"`` -> ``("memories", "1")``; ``""`` or ``"/"`` -> ``()``."""
    labels = tuple(part for part in text.strip("/").split("/"))
    if labels == ("",):
        return ()
    if "" in labels:
        raise UsageError(f"namespace {text!r} has an empty label (write it like memories/1)")
    return labels


@contextmanager
def open_store(path: str, *, query_embed: str | None = None) -> Iterator[Any]:
    """The LMDBStore at ``path`` as it was written (read-only, with its vector index if
    it has one: ``LMDBStore.open_existing``), or a PostgresStore on a postgresql:// URL.

    ``query_embed``: the embedder for queries (``"recorded"``: the one the store
    recorded); otherwise queries are embedded by a placeholder (nothing is searched).
    """
    if is_postgres_url(path):
        with _postgres(path, "memory store"), _open_postgres_store(path, query_embed) as pg_store:
            yield pg_store
        return
    _check_lmdb_dir(path)
    from graphkit.stores.store import LMDBStore

    try:
        choose = (
            (lambda dims, recorded: _query_embedder(path, dims, recorded, query_embed))
            if query_embed is not None
            else None
        )
        store = LMDBStore.open_existing(path, choose_embed=choose)
    except LookupError:
        raise UsageError(
            f"{path} holds no memory store (no LMDBStore wrote there); "
            f"`graphkit threads {path}` lists checkpoint threads"
        ) from None
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _open_postgres_store(url: str, query_embed: str | None) -> Iterator[Any]:
    """A PostgresStore that loads no vector cache (searches rank exactly from SQL rows)."""
    from graphkit.store.postgres import PostgresStore
    from graphkit.stores.embeddings import HashEmbeddings

    dims, recorded = PostgresStore.saved_index(url)
    embed: Any = HashEmbeddings(dims) if dims else None
    if dims and query_embed is not None:
        embed = _query_embedder(_hide_password(url), dims, recorded, query_embed)
    index: Any = {"dims": dims, "embed": embed} if dims else None
    with PostgresStore.from_conn_string(
        url, index=index, vector_cache=False, listen=False
    ) as store:
        yield store


def _query_embedder(path: str, dims: int, recorded: str | None, choice: str) -> Any:
    """The embedder for ``--query``: ``--embed`` if given, else the store's recorded one."""
    from graphkit.errors import GraphkitError
    from graphkit.models.errors import ModelError
    from graphkit.stores.embeddings import ensure_embeddings

    name = recorded if choice == "recorded" else choice
    if name is None:
        print(
            f"note: {path} does not record its embedder (written by an older graphkit); "
            "ranking with HashEmbeddings. Pass --embed PROVIDER:MODEL if it was indexed "
            "with another model.",
            file=sys.stderr,
        )
        name = "hash"
    if name.startswith("python:"):
        raise UsageError(
            f"the store in {path} was indexed with {name[7:]} ({dims} dims), which the CLI "
            "cannot build: pass --embed PROVIDER:MODEL naming the same model "
            "(e.g. --embed openai:text-embedding-3-small), or search from Python"
        )
    try:
        return ensure_embeddings(name, dims=dims)
    except (GraphkitError, ModelError, TypeError, ImportError) as exc:
        raise UsageError(f"cannot embed the query with {name!r}: {exc}") from exc


def cmd_store_namespaces(args: argparse.Namespace) -> int:
    """``graphkit store PATH namespaces``."""
    prefix = parse_namespace(args.prefix)
    with open_store(args.path) as store:
        found = store.list_namespaces(prefix=prefix or None, limit=args.limit)
        counts = {ns: _count_items(store, ns) for ns in found}
    if args.json:
        _print_json([{"namespace": list(ns), "items": counts[ns]} for ns in found])
        return 0
    if not found:
        print(f"no namespaces in {args.path}" + (f" under {args.prefix}" if prefix else ""))
        return 0
    print(
        format_table(
            ("namespace", "items"), [("/".join(ns), str(counts[ns])) for ns in found], right={1}
        )
    )
    return 0


def _count_items(store: Any, namespace: tuple[str, ...]) -> int:
    """Items in exactly ``namespace`` (a search also returns its children's)."""
    count, offset, page = 0, 0, 1000
    while True:
        items = store.search(namespace, limit=page, offset=offset)
        count += sum(1 for item in items if tuple(item.namespace) == namespace)
        if len(items) < page:
            return count
        offset += page


def cmd_store_search(args: argparse.Namespace) -> int:
    """``graphkit store PATH search NAMESPACE``."""
    namespace = parse_namespace(args.namespace)
    query_embed = (args.embed or "recorded") if args.query else None
    with open_store(args.path, query_embed=query_embed) as store:
        if args.query and store.vectors is None:
            raise UsageError(
                f"the store in {args.path} has no vector index: "
                "search without --query to list items"
            )
        items = store.search(namespace, query=args.query, limit=args.limit)
    if args.json:
        _print_json([_jsonable(item.dict()) for item in items])
        return 0
    if not items:
        print(f"no items under {args.namespace or '(root)'} in {args.path}")
        return 0
    rows = []
    for item in items:
        score = "-" if item.score is None else f"{item.score:.3f}"
        value = json.dumps(_jsonable(item.value), ensure_ascii=False)
        rows.append(
            (
                "/".join(item.namespace),
                item.key,
                score,
                _clip(value, 80),
                item.updated_at.strftime("%Y-%m-%d %H:%M:%S"),
            )
        )
    print(format_table(("namespace", "key", "score", "value", "updated (UTC)"), rows))
    return 0


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# ------------------------------------------------------------------- bench
def _add_bench(sub: Any) -> None:
    p = _command(
        sub,
        "bench",
        "run the benchmark suite (graphkit vs LangGraph)",
        "Run the workloads of graphkit.bench (they ship in the package): each runs\n"
        "graphkit and, when langgraph is installed, LangGraph, alternating, and reports the\n"
        "medians and their ratio (LangGraph / graphkit: above 1 means graphkit is faster).\n"
        "--quick runs 3 repetitions of the light workloads (about a minute); a full run\n"
        "takes several minutes. Progress goes to stderr, the table to stdout.\n\n"
        "examples:\n"
        "  graphkit bench --quick\n"
        "  graphkit bench --only chain loop --json bench-results.json",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="3 repetitions of the light workloads (about a minute; --list shows which)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="only these workloads (a name, or a module like engine)",
    )
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    p.add_argument("--list", action="store_true", help="list the workloads and exit")
    p.add_argument(
        "--cpu",
        action="store_true",
        help="time process CPU (all threads) instead of wall time: steadier on a busy "
        "machine, but waits (fsync) do not count",
    )
    p.add_argument(
        "--gc",
        action="store_true",
        help="keep the garbage collector on while timing (4 calls per sample at least): "
        "what a program pays, collections included; by default it is paused",
    )
    p.set_defaults(handler=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    """``graphkit bench``."""
    from graphkit.bench import harness

    everything = harness.discover()
    if args.list:
        print(
            format_table(
                ("workload", "quick", "what one run does"),
                [
                    (w.name, "yes" if w.name in harness.QUICK else "no", w.description)
                    for w in everything
                ],
            )
        )
        return 0
    workloads = harness.discover(args.only, quick=args.quick)
    if not workloads:
        names = ", ".join(w.name for w in everything)
        raise UsageError(f"no workload named {' '.join(args.only)} (workloads: {names})")
    info = harness.machine()
    print(_machine_line(info), file=sys.stderr)
    if not harness.langgraph_available():
        print(
            "LangGraph is not installed: only graphkit's side runs "
            "(pip install langgraph for the comparison)",
            file=sys.stderr,
        )
    results = harness.run(
        workloads,
        quick=args.quick,
        json_path=args.json,
        progress=ProgressLine(sys.stderr),
        cpu=args.cpu,
        collect=args.gc,
    )
    print(f"# {_machine_line(info)}")
    print(harness.format_table(results))
    if args.json:
        print(f"graphkit bench: wrote {args.json}", file=sys.stderr)
    return 1 if any(r.error for r in results) else 0


def _machine_line(info: dict[str, Any]) -> str:
    langgraph = info.get("langgraph") or "not installed"
    return (
        f"{info.get('cpu', info.get('machine'))}, {info.get('cpus')} CPUs, "
        f"{info.get('platform')}, Python {info.get('python')}, LangGraph {langgraph}"
    )


class ProgressLine:
    """Progress of a long command on ``stream``: one line redrawn in place on a terminal
    (a bar, the count, the elapsed time and what runs now); elsewhere (a log, CI) one
    plain line per item as it starts, and a last line with the total time."""

    def __init__(self, stream: IO[str], width: int = 24) -> None:
        self.stream = stream
        self.width = width
        self.tty = stream.isatty()
        self._start = time.monotonic()
        self._last_name: str | None = None

    def __call__(self, done: int, total: int, name: str, detail: str = "") -> None:
        """Report that ``done`` of ``total`` items finished and ``name`` is at ``detail``."""
        elapsed = _duration(time.monotonic() - self._start)
        if done >= total:
            self._write(f"{total}/{total} done in {elapsed}", final=True)
        elif self.tty:
            filled = self.width * done // max(total, 1)
            bar = "#" * filled + "-" * (self.width - filled)
            what = f"{name}: {detail}" if detail else name
            self._write(f"[{bar}] {done}/{total} {elapsed} {what}")
        elif name != self._last_name:
            self._write(f"[{done + 1}/{total}] {elapsed} {name}")
        self._last_name = name

    def _write(self, line: str, *, final: bool = False) -> None:
        if self.tty:
            columns = shutil.get_terminal_size((100, 20)).columns
            self.stream.write("\r" + _clip(line, columns - 1) + "\x1b[K" + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


# -------------------------------------------------------------------- demo
def _add_demo(sub: Any) -> None:
    p = _command(
        sub,
        "demo",
        "run the cross-thread memory chatbot (offline, no key needed)",
        "Run the demo (graphkit/demo.py): a chatbot that stores what user 1 asks it\n"
        "to remember in thread 1 and recalls it in thread 2 by semantic search, while\n"
        "user 2 (thread 3) sees nothing of it. Checkpoints and memories persist in one\n"
        "LMDB directory (it prints where): run it twice, Bob is still remembered.\n\n"
        "With ANTHROPIC_API_KEY or OPENAI_API_KEY set a real model answers; without, a\n"
        "labelled offline model answers from the memories it is given.",
    )
    p.add_argument(
        "--data-dir",
        default=".graphkit-data",
        metavar="DIR",
        help="where checkpoints and memories live (default: .graphkit-data)",
    )
    p.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    """``graphkit demo``."""
    target = Path(args.data_dir)
    if target.exists() and not target.is_dir():
        raise UsageError(f"--data-dir {args.data_dir} exists and is not a directory")
    from graphkit.demo import main as run_demo

    return run_demo(args.data_dir)


# ------------------------------------------------------------------ studio
def _add_studio(sub: Any) -> None:
    from graphkit.studio.command import add_command

    add_command(sub, _command)


# ----------------------------------------------------------------- output
def format_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int] | None = None
) -> str:
    """Columns aligned to their widest cell (``right``: indexes of right-aligned columns)."""
    right = right or set()
    cells = [list(header)] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: list[str]) -> str:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def _print_json(data: Any) -> None:
    """Valid JSON only: NaN and infinities become strings (see ``_jsonable``)."""
    print(json.dumps(_jsonable(data), ensure_ascii=False, indent=2, allow_nan=False))


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


if __name__ == "__main__":
    raise SystemExit(main())

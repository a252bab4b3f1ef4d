"""``stream_mode="messages"`` (and ``astream_events``) for LangChain chat models that
nodes call themselves.

A LangChain chat model reports its call to the callback handlers of its config; when
one of them is a streaming handler (``_StreamingCallbackHandler``), its ``invoke``
streams and reports each chunk (``on_llm_new_token``). A node written for LangGraph
calls ``model.invoke(state["messages"])``, with its config or without one: LangChain
then reads its current config from the ``var_child_runnable_config`` context variable.

So a run streaming ``"messages"`` in a process that imported langchain_core runs its
tasks with ``TOKEN_TAP`` in LangChain's current config: each task's config, which that
is while it runs (``graphkit.engine.langchain_config``), carries it among its callbacks
(the consumer's own code never runs under it); one handler serves every run and thread. At a
model's start the tap asks ``CURRENT_TASK`` which task (or ``@task`` call) the model
runs in; the model's chunks (or, for a model that does not stream, its reply) go to
that task's stream with LangGraph's metadata: the task's ``langgraph_*`` keys and
``checkpoint_ns``, the model's ``ls_*`` keys, the config's and the model's tags.
Their ids count as streamed, so the message the node returns is not sent again.
An ``astream_events`` run gets the tap too: there it reports each such model call as
graphkit's own models report theirs (``run_events.model_run``: ``on_chat_model_start``,
``_stream`` per chunk, ``_end``), unless the run's callbacks see the call themselves.

The LangChain chains (a ``RunnableLambda``, a prompt, a parser, a sequence), retrievers
and tools a task runs itself report to an ``astream_events`` run the same way
(``on_chain_*``, ``on_prompt_*``, ``on_retriever_*``, ``on_tool_*``, ..., nested as
LangChain nests them: under a tool ``ToolNode`` runs too), and so does a custom event a
task dispatches (``on_custom_event``, from the run it was sent in); LangChain runs that
graphkit starts itself (untraced: no parent run) are not, since graphkit reports those.

A model tagged ``nostream`` (or ``langsmith:nostream``) is left out. A run that does
not stream ``"messages"``, or runs where langchain_core was never imported (no
LangChain model can exist), never get here: ``tap_tokens`` is not called for them.
"""

from __future__ import annotations

import contextlib
import functools
from typing import TYPE_CHECKING, Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.callbacks.base import BaseCallbackManager
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tracers._streaming import _StreamingCallbackHandler

from graphkit.constants import TAG_NOSTREAM
from graphkit.context import CURRENT_TASK, emit_streamed_message, model_chunk_metadata
from graphkit.engine.langchain_config import TaskConfigs
from graphkit.engine.run_events import EVENTS

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence

    from graphkit.context import TaskContext
    from graphkit.engine.events import Event
    from graphkit.engine.loop import Run

_NOSTREAM = frozenset({TAG_NOSTREAM, "langsmith:nostream"})
"""Tags that keep a model's tokens off the stream."""


class TokenTap(BaseCallbackHandler, _StreamingCallbackHandler):
    """Sends what LangChain chat models called inside a task report to that task's
    ``messages`` stream and ``astream_events`` (see the module's docstring)."""

    run_inline = True  # (async managers call it where the model runs: its task's context)

    def __init__(self) -> None:
        self.models: dict[UUID, tuple[TaskContext, dict[str, Any]]] = {}
        """Run id of a model call being streamed -> its task and its chunks' metadata."""
        self.reported: dict[UUID, Any] = {}
        """Run id of a model call an ``astream_events`` run reports -> its ``ModelRun``."""
        self.runs: dict[UUID, Any] = {}
        """Run id of a LangChain chain or tool an ``astream_events`` run reports -> its
        ``RunEvents`` (while it runs: what starts under it reports under it)."""

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """A model starts: note its task and metadata, unless it is not to stream; an
        ``astream_events`` run reports it (unless its callbacks see it themselves)."""
        task = CURRENT_TASK.get()
        if task is None:
            return
        if EVENTS in task.run.modes:
            self._report(serialized, messages, run_id, tags or (), metadata or {}, kwargs)
        if not task.run.streams("messages") or (tags and not _NOSTREAM.isdisjoint(tags)):
            return
        self.models[run_id] = (task, model_chunk_metadata(task, metadata or {}, tags or ()))

    def _report(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        run_id: UUID,
        tags: Sequence[str],
        metadata: dict[str, Any],
        kwargs: dict[str, Any],
    ) -> None:
        from graphkit.engine.run_events import events_of, model_run

        events = events_of(CURRENT_TASK.get())
        if events is None or not events.to_stream:  # (callbacks alone: LangChain calls them)
            return
        name = _run_name(serialized, kwargs)
        shown = {k: v for k, v in metadata.items() if k.startswith("ls_")}
        parent = self.runs.get(kwargs.get("parent_run_id"))  # type: ignore[arg-type]
        parents = None if parent is None else [*parent.parent_ids, parent.run_id]
        given = messages[0] if messages else []
        reported = model_run(name, given, tags, shown, parents, str(run_id))
        if reported is not None:
            self.reported[run_id] = reported

    # -- LangChain chains and tools a task runs (``astream_events``)
    def on_chain_start(
        self, serialized: dict[str, Any] | None, inputs: Any, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A LangChain runnable a task runs starts: an ``astream_events`` run reports it
        (``on_chain_start``, or ``on_prompt_start``/``on_parser_start``/... by its type)."""
        kind = kwargs.get("run_type") or "chain"
        self._start(kind, _run_name(serialized, kwargs), inputs, run_id, kwargs)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """The runnable returned: its end event."""
        run = self.runs.pop(run_id, None)
        if run is not None:
            run.end(outputs)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The runnable raised: forget it (``astream_events`` streams no chain errors)."""
        self.runs.pop(run_id, None)

    def on_tool_start(
        self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A LangChain tool a task calls itself starts: an ``astream_events`` run reports it."""
        given = kwargs.get("inputs")
        self._start(
            "tool",
            _run_name(serialized, kwargs),
            input_str if given is None else given,
            run_id,
            kwargs,
        )

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """The tool returned: its end event."""
        self.on_chain_end(output, run_id=run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The tool raised: its error event, with the call's id."""
        run = self.runs.pop(run_id, None)
        if run is not None:
            data = {"error": error, "input": run.input, "tool_call_id": kwargs.get("tool_call_id")}
            run.emit("error", data)

    def on_retriever_start(
        self, serialized: dict[str, Any] | None, query: str, *, run_id: UUID, **kwargs: Any
    ) -> None:
        """A LangChain retriever a task (or tool) runs starts: an ``astream_events`` run
        reports it (``on_retriever_start``, its input the query)."""
        self._start("retriever", _run_name(serialized, kwargs), {"query": query}, run_id, kwargs)

    def on_retriever_end(self, documents: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """The retriever returned ``documents``: its end event."""
        self.on_chain_end(documents, run_id=run_id)

    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The retriever raised: forget it (``astream_events`` streams no errors)."""
        self.runs.pop(run_id, None)

    def _start(
        self, kind: str, name: str, given: Any, run_id: UUID, kwargs: dict[str, Any]
    ) -> None:
        """Report a LangChain run starting under the task (or a LangChain run this
        reports): one graphkit itself called untraced (no parent run) is not."""
        from graphkit.engine.run_events import langchain_run

        parent_id = kwargs.get("parent_run_id")
        if parent_id is None:
            return
        parent = self.runs.get(parent_id)
        run = langchain_run(
            kind,
            name,
            list(kwargs.get("tags") or ()),
            str(parent_id),
            None if parent is None else [*parent.parent_ids, parent.run_id],
            str(run_id),
        )
        if run is not None:
            self.runs[run_id] = run.start(given)

    def on_llm_new_token(
        self, token: Any, *, chunk: Any = None, run_id: UUID, **kwargs: Any
    ) -> None:
        """One streamed chunk: on the stream now."""
        if not isinstance(chunk, ChatGenerationChunk):
            return
        found = self.models.get(run_id)
        if found is not None:
            emit_streamed_message(found[0], chunk.message, found[1])
        reported = self.reported.get(run_id)
        if reported is not None:
            reported.chunk(chunk.message)

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """The model's reply: on the stream unless its chunks were (a model that does not
        stream sends it whole)."""
        found = self.models.pop(run_id, None)
        reported = self.reported.pop(run_id, None)
        if not response.generations or not response.generations[0]:
            return
        generation = response.generations[0][0]
        if not isinstance(generation, ChatGeneration):
            return
        message = generation.message
        if reported is not None:
            reported.replied(message)
        if found is not None and message.id not in found[0].run.scope.seen_messages:
            emit_streamed_message(found[0], message, found[1])

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """The model failed: forget it."""
        self.models.pop(run_id, None)
        reported = self.reported.pop(run_id, None)
        if reported is not None:
            reported.failed(error)

    def on_custom_event(
        self,
        name: Any,
        data: Any,
        *,
        run_id: UUID,
        tags: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        """A task's ``dispatch_custom_event``: on an ``astream_events`` run's stream, from
        the run it was sent in (``run_id``: a LangChain run this reports, or the task's)."""
        from graphkit.engine.run_events import custom_event

        custom_event(str(name), data, self.runs.get(run_id), tags)

    def tap_output_iter(self, run_id: UUID, output: Iterator[Any]) -> Iterator[Any]:
        """(``_StreamingCallbackHandler``: chunks come through ``on_llm_new_token``.)"""
        return output

    def tap_output_aiter(self, run_id: UUID, output: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """(As ``tap_output_iter``.)"""
        return output


def _run_name(serialized: dict[str, Any] | None, kwargs: dict[str, Any]) -> str:
    """A LangChain run's name, as its event stream names it."""
    name = kwargs.get("name")
    if name is None and serialized:
        name = serialized.get("name") or (serialized.get("id") or ["Unnamed"])[-1]
    return str(name or "Unnamed")


TOKEN_TAP = TokenTap()
"""The one tap: it finds each model's task itself."""

_TAPPED: dict[str, Any] = {"callbacks": [TOKEN_TAP]}
"""LangChain's current config while a task runs, where nothing had set one."""


def with_tap(callbacks: Any) -> Any:
    """``callbacks`` (a list of handlers, a callback manager or None) with the tap."""
    if callbacks is None:
        return [TOKEN_TAP]
    if isinstance(callbacks, BaseCallbackManager):
        if TOKEN_TAP in callbacks.handlers:
            return callbacks
        manager = callbacks.copy()
        manager.add_handler(TOKEN_TAP, inherit=True)
        return manager
    return callbacks if TOKEN_TAP in callbacks else [*callbacks, TOKEN_TAP]


def _tapped(current: Any) -> Any:
    """LangChain's current config for a task: ``current`` (if any) with the tap."""
    if isinstance(current, TaskConfigs):  # (each task's config: with the tap)
        return current.tapped()
    if not current:
        return _TAPPED
    return {**current, "callbacks": with_tap(current.get("callbacks"))}


def tap_tokens(run: Run) -> None:
    """Stream the tokens of LangChain models that the tasks of ``run`` call (a run
    streaming ``"messages"``): each of its live steps runs its tasks with the tap in
    LangChain's current config (graphs run inside them inherit it). A run reporting
    to callbacks also puts it among the callbacks of its nodes' config (a model called
    with that config takes them instead of LangChain's current ones)."""
    from graphkit.engine.run_events import EventsExecutor

    executor = run.ctx.executor
    if isinstance(executor, EventsExecutor):
        executor.tap_callbacks = with_tap
    if run.langchain_configs is not None:  # (each task's config: with the tap)
        run.langchain_configs = run.langchain_configs.tapped()
    elif run.ctx.parent_task is not None and run.sink.queue is None:
        run.tapped_here = True  # (its steps run in the node's context: not live)
    else:  # each step's context is a copy of this one: its config, with the tap
        tapped = _tapped(var_child_runnable_config.get())
        run.enter_step = functools.partial(var_child_runnable_config.set, tapped)


def tapped_events(events: Iterator[Event]) -> Iterator[Event]:
    """``events`` of a graph a node streams itself, the tap in LangChain's current config
    while they come (that of the node iterating them: put back after)."""
    token = var_child_runnable_config.set(_tapped(var_child_runnable_config.get()))
    try:
        yield from events
    finally:
        TaskConfigs.leave(token)


async def atapped_events(
    events: AsyncGenerator[Event, None],
) -> AsyncGenerator[Event, None]:
    """Async ``tapped_events`` (closing ``events`` when it is closed)."""
    token = var_child_runnable_config.set(_tapped(var_child_runnable_config.get()))
    try:
        async with contextlib.aclosing(events):
            async for event in events:
                yield event
    finally:
        TaskConfigs.leave(token)

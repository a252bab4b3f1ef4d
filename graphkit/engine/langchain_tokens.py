"""Token streaming of the LangChain chat models a node calls itself.

A LangGraph node often calls a LangChain model directly (``llm.invoke(messages)``, with
its config or without), and ``stream_mode="messages"`` shows that model's tokens as
they come: LangChain finds the run's config in its context variable, sees a streaming
callback handler there, and streams. graphkit's own models report their tokens to the
run themselves; for LangChain's, a run streaming ``"messages"`` (once LangChain's chat
models are imported) wraps its executor in :class:`LangChainTokensExecutor`, which puts
such a handler in LangChain's current config while each task's function runs. Each
token goes to the stream as LangChain's ``AIMessageChunk`` (what LangGraph shows), with
the running task's metadata and the model's ``ls_*`` keys; the message the node then
returns is not sent again (its id counts as streamed). ``astream_events`` runs are
wrapped too: the call reports ``on_chat_model_start/stream/end`` under its node, as
LangGraph's do. Runs that stream neither are not wrapped and pay nothing.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

from graphkit.constants import TAG_NOSTREAM
from graphkit.context import CURRENT_TASK, emit_message_chunk
from graphkit.engine.run_events import EVENTS, ModelRun, events_of, model_run

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from graphkit.context import TaskContext
    from graphkit.engine.executor import Executor
    from graphkit.node import CallSpec

_CHAT_MODELS_MODULE = "langchain_core.language_models"


def streams_langchain_tokens(modes: frozenset[str]) -> bool:
    """Whether a run with these stream modes should stream LangChain models' tokens:
    it streams ``"messages"`` (or ``astream_events``) and LangChain's chat models are
    imported (a program that never imports them has no such model to call)."""
    return ("messages" in modes or EVENTS in modes) and _CHAT_MODELS_MODULE in sys.modules


class LangChainTokensExecutor:
    """Runs tasks through ``inner`` with a token handler in LangChain's current config."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.workers = inner.workers
        self.handler = _token_handler_class()()

    def pool(self) -> ThreadPoolExecutor:
        """The wrapped executor's threads."""
        return self.inner.pool()

    def call(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """The wrapped ``call``, the handler in LangChain's config meanwhile."""
        if ctx is None:
            return self.inner.call(name, spec, state, ctx)
        from langchain_core.runnables.config import var_child_runnable_config

        token = var_child_runnable_config.set(self._config(ctx))
        try:
            return self.inner.call(name, spec, state, ctx)
        finally:
            var_child_runnable_config.reset(token)

    async def acall(self, name: str, spec: CallSpec, state: Any, ctx: TaskContext | None) -> Any:
        """The wrapped ``acall``, the handler in LangChain's config meanwhile."""
        if ctx is None:
            return await self.inner.acall(name, spec, state, ctx)
        from langchain_core.runnables.config import var_child_runnable_config

        token = var_child_runnable_config.set(self._config(ctx))
        try:
            return await self.inner.acall(name, spec, state, ctx)
        finally:
            var_child_runnable_config.reset(token)

    def _config(self, ctx: TaskContext) -> Any:
        """LangChain's current config (one a callback relay set, else the task's), with
        the handler added to its callbacks."""
        from langchain_core.callbacks import BaseCallbackManager
        from langchain_core.runnables.config import var_child_runnable_config

        current = var_child_runnable_config.get()
        config: dict[str, Any] = dict(current) if current is not None else dict(ctx.config())
        callbacks = config.get("callbacks")
        if isinstance(callbacks, BaseCallbackManager):
            manager = callbacks.copy()
            manager.add_handler(self.handler, inherit=True)
            config["callbacks"] = manager
        else:
            config["callbacks"] = [*(callbacks or ()), self.handler]
        return config

    def __repr__(self) -> str:
        return f"LangChainTokensExecutor({self.inner!r})"


@functools.cache
def _token_handler_class() -> type:
    """The handler class, made once LangChain is imported (its bases are LangChain's;
    a ``_StreamingCallbackHandler`` is what makes a LangChain model stream)."""
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.tracers._streaming import _StreamingCallbackHandler

    class TokenHandler(BaseCallbackHandler, _StreamingCallbackHandler):
        """Sends each token of a LangChain chat model to the running task's ``messages``
        stream, and the call's events to its ``astream_events`` stream."""

        run_inline = True  # (called where the model runs: the task is the current one)

        def __init__(self) -> None:
            self.calls: dict[Any, tuple[dict[str, Any] | None, ModelRun | None]] = {}
            """Run id of each chat model call running now -> the metadata its tokens
            stream with (None: tagged not to stream them) and its events (or None)."""

        def on_chat_model_start(
            self,
            serialized: Any,
            messages: Any,
            *,
            run_id: Any,
            tags: list[str] | None = None,
            metadata: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> None:
            shown = _model_metadata(metadata or {}, tags)
            name = kwargs.get("name") or (serialized or {}).get("name") or "ChatModel"
            events = _model_events(name, messages, tags, shown)
            tokens = None if tags and (TAG_NOSTREAM in tags or _NOSTREAM in tags) else shown
            if tokens is not None or events is not None:
                self.calls[run_id] = (tokens, events)

        def on_llm_new_token(  # type: ignore[override]
            self, token: str, *, chunk: Any = None, run_id: Any = None, **kwargs: Any
        ) -> None:
            found = self.calls.get(run_id)
            message = getattr(chunk, "message", None)
            if found is None or message is None:
                return
            tokens, events = found
            if events is not None:
                events.chunk(message)
            if tokens is not None:
                emit_message_chunk(message, tokens)

        def on_llm_end(self, response: Any, *, run_id: Any = None, **kwargs: Any) -> None:
            found = self.calls.pop(run_id, None)
            if found is not None and found[1] is not None:
                generations = getattr(response, "generations", None) or [[]]
                reply = getattr(generations[0][0], "message", None) if generations[0] else None
                found[1].replied(reply)

        def on_llm_error(self, error: BaseException, *, run_id: Any = None, **kwargs: Any) -> None:
            found = self.calls.pop(run_id, None)
            if found is not None and found[1] is not None:
                found[1].failed(error)

        def tap_output_aiter(self, run_id: Any, output: Any) -> Any:
            return output

        def tap_output_iter(self, run_id: Any, output: Any) -> Any:
            return output

    return TokenHandler


_NOSTREAM = "langsmith:nostream"
"""LangSmith's spelling of ``TAG_NOSTREAM``, honoured as LangGraph honours it."""


def _model_metadata(metadata: dict[str, Any], tags: list[str] | None) -> dict[str, Any]:
    """What a LangChain model's call adds to its tokens' metadata, as LangGraph shows it:
    the model's keys (``ls_*``, ...) and its tags; the ``langgraph_*`` keys are the
    running task's (graphkit's, right in subgraphs too)."""
    shown = {k: v for k, v in metadata.items() if not k.startswith("langgraph_")}
    shown.pop("checkpoint_ns", None)
    user_tags = [t for t in tags or () if not t.startswith("seq:step")]
    if user_tags:
        shown["tags"] = user_tags
    return shown


def _model_events(
    name: str, messages: Any, tags: list[str] | None, metadata: dict[str, Any]
) -> ModelRun | None:
    """The ``astream_events`` run of a LangChain model call in the current task, when
    the run streams events to its caller and no callback relay reports the call
    (LangChain then reports it to the handlers itself)."""
    events = events_of(CURRENT_TASK.get())
    if events is None or not events.to_stream or events.relay is not None:
        return None
    given = messages[0] if isinstance(messages, list) and messages else messages
    extra = {k: v for k, v in metadata.items() if k != "tags"}
    own_tags = [t for t in tags or () if not t.startswith(("seq:step", "graph:step"))]
    return model_run(name, given, own_tags, extra)

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
returns is not sent again (its id counts as streamed). Runs that do not stream
``"messages"`` are not wrapped and pay nothing.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

from graphkit.constants import TAG_NOSTREAM
from graphkit.context import emit_message_chunk

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

    from graphkit.context import TaskContext
    from graphkit.engine.executor import Executor
    from graphkit.node import CallSpec

_CHAT_MODELS_MODULE = "langchain_core.language_models"


def streams_langchain_tokens(modes: frozenset[str]) -> bool:
    """Whether a run with these stream modes should stream LangChain models' tokens:
    it streams ``"messages"`` and LangChain's chat models are imported (a program that
    never imports them has no such model to call)."""
    return "messages" in modes and _CHAT_MODELS_MODULE in sys.modules


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
        """Sends each token of a LangChain chat model to the running task's stream."""

        run_inline = True  # (called where the model runs: the task is the current one)

        def __init__(self) -> None:
            self.models: dict[Any, dict[str, Any]] = {}
            """Run id of each chat model call streaming now -> its ``ls_*`` metadata."""

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
            if tags and (TAG_NOSTREAM in tags or "langsmith:nostream" in tags):
                return
            found = metadata or {}
            self.models[run_id] = {k: v for k, v in found.items() if k.startswith("ls_")}

        def on_llm_new_token(  # type: ignore[override]
            self, token: str, *, chunk: Any = None, run_id: Any = None, **kwargs: Any
        ) -> None:
            model_metadata = self.models.get(run_id)
            message = getattr(chunk, "message", None)
            if model_metadata is not None and message is not None:
                emit_message_chunk(message, model_metadata)

        def on_llm_end(self, response: Any, *, run_id: Any = None, **kwargs: Any) -> None:
            self.models.pop(run_id, None)

        def on_llm_error(self, error: BaseException, *, run_id: Any = None, **kwargs: Any) -> None:
            self.models.pop(run_id, None)

        def tap_output_aiter(self, run_id: Any, output: Any) -> Any:
            return output

        def tap_output_iter(self, run_id: Any, output: Any) -> Any:
            return output

    return TokenHandler

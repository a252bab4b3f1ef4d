"""LangChain objects at graphkit's edges: messages, chat models and tools.

Code moving from LangGraph often keeps LangChain pieces: ``langchain_core`` messages
in its inputs, a ``langchain_*`` chat model for a provider graphkit has no adapter
for, ``@langchain_core.tools.tool`` functions. graphkit turns each into its own
kind where it enters (``add_messages``, ``convert_to_tool``, ``create_react_agent``,
``init_chat_model``), so the engine's channels and the checkpoint format only ever
hold graphkit's classes.

Code written for LangGraph reads LangChain's messages, though (``isinstance(last,
AIMessage)`` with LangChain's class): a state key that was written LangChain messages,
whose type names them, or of a graph whose code names them (``code_speaks_langchain``)
shows every reader LangChain's view of its history (``graphkit._langchain_view``,
``GraphTables.langchain``).

LangChain objects are recognised by the module of a class in their MRO, so graphkit
never imports ``langchain_core`` unless a caller handed it one of its objects (or
asked for a LangChain provider), and it is never a dependency.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import importlib.abc
import importlib.machinery
import os
import sys
import types
import typing
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from graphkit.errors import InvalidMessageError

_MESSAGES_MODULE = "langchain_core.messages"
_TOOLS_MODULE = "langchain_core.tools"
_CHAT_MODEL_MODULE = "langchain_core.language_models"


_FROM: dict[tuple[type, str], bool] = {}
"""``_class_from`` answers: classes are few, and the question is asked per message."""


def _class_from(cls: type, prefix: str) -> bool:
    """Whether a class in ``cls``'s MRO comes from a module under ``prefix``."""
    found = _FROM.get((cls, prefix))
    if found is None:
        if len(_FROM) > 4096:  # classes made at run time must not pile up here
            _FROM.clear()
        found = _FROM[cls, prefix] = any(b.__module__.startswith(prefix) for b in cls.__mro__)
    return found


def is_langchain_message(obj: Any) -> bool:
    """Whether ``obj`` is a ``langchain_core`` message (or of a subclass of one)."""
    return _class_from(type(obj), _MESSAGES_MODULE)


def is_langchain_chat_model(obj: Any) -> bool:
    """Whether ``obj`` is a LangChain chat model, bare or bound (``bind_tools``)."""
    return _class_from(type(unbound(obj)), _CHAT_MODEL_MODULE)


def unbound(obj: Any) -> Any:
    """The runnable inside a LangChain ``RunnableBinding`` (what ``bind_tools`` and
    ``bind`` return), else ``obj``."""
    if _class_from(type(obj), "langchain_core.runnables"):
        return getattr(obj, "bound", obj)
    return obj


def is_langchain_tool(obj: Any) -> bool:
    """Whether ``obj`` is a LangChain tool (``@langchain_core.tools.tool``, ``BaseTool``)."""
    return _class_from(type(obj), _TOOLS_MODULE)


# -- messages ---------------------------------------------------------------------

_CHUNK_KINDS = {
    "HumanMessageChunk": "human",
    "SystemMessageChunk": "system",
    "ToolMessageChunk": "tool",
    "ChatMessageChunk": "chat",
}


SEEN = False
"""True once a LangChain message was converted in this process: until then the engine
does not look for LangChain messages in writes (``GraphTables.langchain``)."""

_checked: tuple[Any, bool] = (None, False)
"""The ``langchain_core`` module last looked at, and whether it is LangChain's package."""


def langchain_loaded() -> bool:
    """True once LangChain (the ``langchain_core`` package) is imported in this process:
    only then do runs give LangChain their tasks' configs and stream its models' tokens
    (graphkit never imports it itself). A module registered under that name that is not
    the installed package (a stand-in a test harness installs, whose ``__file__`` is no
    file) does not count."""
    global _checked
    module = sys.modules.get("langchain_core")
    if module is None:
        return False
    seen, real = _checked
    if module is not seen:  # (read from its __dict__: a stand-in may answer any attribute)
        path = module.__dict__.get("__file__")
        real = isinstance(path, str) and os.path.isfile(path)
        _checked = (module, real)
    return real


def from_langchain_message(message: Any) -> Any:
    """The graphkit message equal to LangChain's ``message`` (fields LangChain has and
    graphkit lacks, such as ``example``, are dropped)."""
    from graphkit import messages as gk

    global SEEN
    SEEN = True

    data = message.model_dump()
    kind = _CHUNK_KINDS.get(data["type"], data.pop("type"))
    if kind == "chat":
        kind = data.pop("role", "")
    cls = gk._ROLE_TO_CLASS.get(kind)
    if cls is None:
        raise InvalidMessageError(
            f"cannot use a LangChain {type(message).__name__} (type {kind!r}) as a message: "
            "graphkit has human, ai, system, tool and remove messages; convert it to one "
            "of those"
        )
    if "usage_metadata" in data:
        data["usage"] = data.pop("usage_metadata")
    if cls is gk.RemoveMessage:
        return gk.RemoveMessage(id=data["id"])
    fields = cls.model_fields
    return cls(**{key: value for key, value in data.items() if key in fields})


@functools.lru_cache(maxsize=1)
def _langchain_classes() -> dict[str, Any]:
    lc = importlib.import_module(_MESSAGES_MODULE)
    return {
        "human": lc.HumanMessage,
        "ai": lc.AIMessage,
        "AIMessageChunk": lc.AIMessageChunk,
        "system": lc.SystemMessage,
        "tool": lc.ToolMessage,
        "remove": lc.RemoveMessage,
    }


def langchain_message_class(kind: str) -> Any:
    """LangChain's message class of a graphkit message ``type`` (``"remove"``...)."""
    return _langchain_classes()[kind]


def to_langchain_messages(messages: Any) -> list[Any]:
    """LangChain's messages equal to graphkit's (for a chain or prompt a node calls
    itself: ``chain.invoke({"messages": to_langchain_messages(state["messages"])})``)."""
    return [to_langchain_message(m) for m in messages]


def to_langchain_message(message: Any) -> Any:
    """LangChain's message equal to the graphkit ``message`` (for a LangChain model); a
    LangChain message as it is."""
    if is_langchain_message(message):
        return message
    cls = _langchain_classes()[message.type]
    if message.type == "remove":
        return cls(id=message.id)
    data = message.model_dump(exclude={"type"})
    if "usage" in data:
        data["usage_metadata"] = data.pop("usage")
    return cls(**data)


def holds_langchain_message(value: Any) -> bool:
    """Whether ``value`` (a message, or a list of them) holds a LangChain message."""
    if type(value) is not list:
        return is_langchain_message(value)
    return any(_class_from(kind, _MESSAGES_MODULE) for kind in set(map(type, value)))


def as_langchain_messages(items: list[Any]) -> list[Any]:
    """LangChain's messages for what ``add_messages`` takes, as LangGraph's coerces
    them: LangChain's as they are (a chunk as its message), graphkit's converted, and
    anything else (strings, tuples, dicts) by LangChain's ``convert_to_messages``."""
    from graphkit.messages import BaseMessage

    lc = importlib.import_module(_MESSAGES_MODULE)
    return [
        lc.message_chunk_to_message(item)
        if is_langchain_message(item)
        else to_langchain_message(item)
        if isinstance(item, BaseMessage)
        else lc.convert_to_messages([item])[0]
        for item in items
    ]


def untraced(tap: bool = False) -> dict[str, Any]:
    """The config graphkit calls a LangChain model or tool with: no callback handlers,
    since graphkit reports the call itself (a run's handlers see it once, under the
    node it runs in), even where a node's config is LangChain's current one.

    ``tap``: in a run streaming ``"messages"``, the token tap, so that the LangChain
    models the call runs stream their own chunks (``graphkit.engine.langchain_tokens``).
    """
    if tap:
        from graphkit.context import messages_streaming_active

        if messages_streaming_active():
            from graphkit.engine.langchain_tokens import TOKEN_TAP

            return {"callbacks": [TOKEN_TAP]}
    return {"callbacks": []}


# -- injected tool arguments --------------------------------------------------------

_TOOLS_BASE_MODULE = "langchain_core.tools.base"


class LangChainInjectedArg:
    """A base of graphkit's injection markers (``InjectedState``, ``InjectedStore``, ...),
    replaced by LangChain's ``InjectedToolArg`` once ``langchain_core`` is imported
    (``adopt_langchain_injection``): a ``@langchain_core.tools.tool`` function that asks
    for ``InjectedState`` then keeps that parameter out of the schema LangChain sends a
    model (``llm.bind_tools(tools)``), as LangGraph's markers do."""


class LangChainDirectlyInjectedArg:
    """The same for ``ToolRuntime``: replaced by LangChain's ``_DirectlyInjectedToolArg``
    (a parameter annotated with the class itself)."""


def adopt_langchain_injection() -> None:
    """Give the subclasses of the two stand-ins above LangChain's classes as bases: now
    if ``langchain_core.tools`` is imported, else right after it is (an import hook: graphkit
    never imports LangChain itself)."""
    when_imported(_TOOLS_BASE_MODULE, _rebase_injection_markers)


def when_imported(name: str, then: Callable[[types.ModuleType], None]) -> None:
    """Call ``then(module)`` with the module ``name``: now if it is imported, else right
    after it is (an import hook, set once per ``name`` and ``then``)."""
    module = sys.modules.get(name)
    if module is not None:
        then(module)
    elif not any(
        isinstance(f, _AfterImport) and f.name == name and f.then is then for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _AfterImport(name, then))


def _rebase_injection_markers(module: types.ModuleType) -> None:
    for stand_in, theirs in (
        (LangChainInjectedArg, "InjectedToolArg"),
        (LangChainDirectlyInjectedArg, "_DirectlyInjectedToolArg"),
    ):
        base = getattr(module, theirs, None)
        if not isinstance(base, type):
            continue  # (a LangChain without it: nothing to adopt)
        for sub in stand_in.__subclasses__():
            sub.__bases__ = tuple(base if b is stand_in else b for b in sub.__bases__)
    _FROM.clear()  # answers about the rebased classes' MROs are stale


class _AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then(module)`` once the module named ``name`` has been executed by its
    own loader (found by the finders after this one), then leaves ``sys.meta_path``."""

    def __init__(self, name: str, then: Callable[[types.ModuleType], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ThenLoader(spec.loader, self)
                return spec
        return None

    def executed(self, module: types.ModuleType) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        self.then(module)


class _ThenLoader(importlib.abc.Loader):
    """Runs the real loader, then tells the finder; the module keeps the real loader."""

    def __init__(self, loader: Any, finder: _AfterImport) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        self.finder.executed(module)


# -- tools ------------------------------------------------------------------------


def from_langchain_tool(lc_tool: Any) -> Any:
    """A graphkit ``Tool`` that runs the LangChain tool with the model's arguments.

    Its schema is the one LangChain sends to models (``tool_call_schema``: arguments
    injected by LangChain left out). It runs through the tool's own ``invoke`` /
    ``ainvoke`` (LangChain's validation and error handling apply), except where LangChain
    would lose what the tool returns (a graphkit ``Command``, an artifact): those tools
    run their function directly. A parameter annotated with LangChain's
    ``InjectedToolCallId`` gets the call's id; a LangChain message the tool returns
    becomes graphkit's; a tool whose function asks for graphkit's injections
    (``InjectedState``, ...) is built from that function.
    """
    from graphkit.engine.run_events import inside_langchain_tool, reporting
    from graphkit.tools import Injection, Tool, _model_from_json_schema

    own = _graphkit_injected_tool(lc_tool)
    if own is not None:
        return own
    schema = getattr(lc_tool, "tool_call_schema", None) or getattr(lc_tool, "args_schema", None)
    if isinstance(schema, dict):
        schema = _model_from_json_schema(lc_tool.name, schema)
    if schema is None:
        schema = _model_from_json_schema(lc_tool.name, {"type": "object", "properties": {}})
    call_id_param = _call_id_parameter(lc_tool)
    response_format = getattr(lc_tool, "response_format", "content")
    handles_errors = bool(
        getattr(lc_tool, "handle_tool_error", False)
        or getattr(lc_tool, "handle_validation_error", False)
    )
    # Invoked with a ToolCall, LangChain turns a graphkit Command into a ToolMessage's
    # text, and without one it drops an artifact: such tools run their function, unless
    # the tool handles its own errors (LangChain then answers with an error message).
    direct = not handles_errors and (
        call_id_param is not None or response_format == "content_and_artifact"
    )
    func = getattr(lc_tool, "func", None) if direct else None
    coroutine = getattr(lc_tool, "coroutine", None) if direct else None
    # Run through its ``invoke``, in a run that reports runs the tool reports its own run
    # (given the task's config: LangChain's current one), and what it runs nests under it.
    reports_itself = func is None and coroutine is None

    def prepared(kwargs: dict[str, Any], whole: bool = False) -> Any:
        """The tool's input: its arguments, or the whole call (``whole``: its output is
        then a ``ToolMessage``, as LangGraph's ``ToolNode`` invokes a tool)."""
        call_id = kwargs.pop(_CALL_ID, None)
        if func is not None or coroutine is not None:
            if call_id_param is not None:
                kwargs[call_id_param] = call_id
            return kwargs
        if call_id is None or (call_id_param is None and not handles_errors and not whole):
            return kwargs
        return {"name": lc_tool.name, "args": kwargs, "id": call_id, "type": "tool_call"}

    def run(**kwargs: Any) -> Any:
        if func is not None:
            return _graphkit_output(func(**prepared(kwargs)))
        if reports_itself and reporting():
            given, config = prepared(kwargs, True), _own_run_config()
            with _arguments_checked(lc_tool.name, kwargs), inside_langchain_tool(config):
                return _graphkit_output(lc_tool.invoke(given, config))
        with _arguments_checked(lc_tool.name, kwargs):
            return _graphkit_output(lc_tool.invoke(prepared(kwargs), untraced(tap=True)))

    async def arun(**kwargs: Any) -> Any:
        if coroutine is not None:
            return _graphkit_output(await coroutine(**prepared(kwargs)))
        if func is not None:
            return _graphkit_output(await asyncio.to_thread(func, **prepared(kwargs)))
        if reports_itself and reporting():
            given, config = prepared(kwargs, True), _own_run_config()
            with _arguments_checked(lc_tool.name, kwargs), inside_langchain_tool(config):
                return _graphkit_output(await lc_tool.ainvoke(given, config))
        with _arguments_checked(lc_tool.name, kwargs):
            return _graphkit_output(await lc_tool.ainvoke(prepared(kwargs), untraced(tap=True)))

    return Tool(
        name=lc_tool.name,
        description=lc_tool.description or "",
        args_model=schema,
        func=run,
        coroutine=arun,
        injections={_CALL_ID: Injection("tool_call_id")},
        return_direct=bool(getattr(lc_tool, "return_direct", False)),
        response_format=(
            "content_and_artifact"
            if response_format == "content_and_artifact" and (func or coroutine)
            else "content"
        ),
        reports_itself=reports_itself,
        from_langchain=True,
    )


def _own_run_config() -> dict[str, Any]:
    """LangChain's current config (the running task's, read now) with an id for the run
    of the LangChain tool it is given to (``inside_langchain_tool`` reads it)."""
    from langchain_core.runnables.config import ensure_config

    config: dict[str, Any] = ensure_config()  # type: ignore[assignment]
    config["run_id"] = uuid.uuid4()
    return config


@contextlib.contextmanager
def _arguments_checked(name: str, kwargs: dict[str, Any]) -> Iterator[None]:
    """A LangChain tool's own validation failing (its full schema wants an argument the
    model's schema leaves out, an ``InjectedToolArg`` nothing gives) is a
    ``ToolInvocationError``, as LangGraph's ``ToolNode`` makes it: the model is told."""
    from pydantic import ValidationError

    from graphkit.tools import ToolArgumentsError

    given = dict(kwargs)
    try:
        yield
    except ValidationError as exc:
        given.pop(_CALL_ID, None)
        raise ToolArgumentsError(name, exc, given) from exc


_CALL_ID = "__tool_call_id"
"""Where a LangChain tool's graphkit wrapper receives the call's id."""


def _graphkit_injected_tool(lc_tool: Any) -> Any:
    """A LangChain ``@tool`` whose function asks for graphkit injections
    (``InjectedState``, ``InjectedStore``, ``ToolRuntime``: LangChain would take them
    for the model's arguments) as a graphkit tool built from that function; else None."""
    from graphkit.tools import _tool_from_function, declares_graph_injections

    func = getattr(lc_tool, "func", None)
    coroutine = getattr(lc_tool, "coroutine", None)
    function = func or coroutine
    if not callable(function) or not declares_graph_injections(function):
        return None
    format = getattr(lc_tool, "response_format", "content")
    built = _tool_from_function(
        function,
        name=lc_tool.name,
        description=lc_tool.description or None,
        args_schema=None,
        return_direct=bool(getattr(lc_tool, "return_direct", False)),
        response_format="content_and_artifact" if format == "content_and_artifact" else "content",
    )
    if func is not None and coroutine is not None:
        built.coroutine = coroutine
    built.from_langchain = True
    return built


def _call_id_parameter(lc_tool: Any) -> str | None:
    """The tool's parameter annotated with LangChain's ``InjectedToolCallId``, if any."""
    full = getattr(lc_tool, "args_schema", None)
    fields = getattr(full, "model_fields", None) or {}
    for name, info in fields.items():
        if any(is_langchain_call_id_marker(marker) for marker in info.metadata):
            return str(name)
    return None


def is_langchain_call_id_marker(marker: Any) -> bool:
    """Whether an ``Annotated`` marker is LangChain's ``InjectedToolCallId`` (class or
    instance)."""
    cls = marker if isinstance(marker, type) else type(marker)
    return cls.__name__ == "InjectedToolCallId" and _class_from(cls, _TOOLS_MODULE)


def _graphkit_output(output: Any) -> Any:
    return from_langchain_message(output) if is_langchain_message(output) else output


def openai_tool(tool: Any) -> dict[str, Any]:
    """A graphkit ``Tool`` in the OpenAI function form every LangChain model binds."""
    return {
        "type": "function",
        "function": {"name": tool.name, "description": tool.description, "parameters": tool.schema},
    }


# -- chat model classes of LangChain's provider packages ------------------------------

PROVIDER_CLASSES: dict[str, tuple[str, str]] = {
    "anthropic_bedrock": ("langchain_aws", "ChatAnthropicBedrock"),
    "azure_ai": ("langchain_azure_ai.chat_models", "AzureAIChatCompletionsModel"),
    "azure_openai": ("langchain_openai", "AzureChatOpenAI"),
    "bedrock": ("langchain_aws", "ChatBedrock"),
    "bedrock_converse": ("langchain_aws", "ChatBedrockConverse"),
    "cohere": ("langchain_cohere", "ChatCohere"),
    "deepseek": ("langchain_deepseek", "ChatDeepSeek"),
    "fireworks": ("langchain_fireworks", "ChatFireworks"),
    "google_anthropic_vertex": ("langchain_google_vertexai.model_garden", "ChatAnthropicVertex"),
    "google_genai": ("langchain_google_genai", "ChatGoogleGenerativeAI"),
    "google_vertexai": ("langchain_google_vertexai", "ChatVertexAI"),
    "groq": ("langchain_groq", "ChatGroq"),
    "huggingface": ("langchain_huggingface", "ChatHuggingFace"),
    "ibm": ("langchain_ibm", "ChatWatsonx"),
    "mistralai": ("langchain_mistralai", "ChatMistralAI"),
    "nvidia": ("langchain_nvidia_ai_endpoints", "ChatNVIDIA"),
    "ollama": ("langchain_ollama", "ChatOllama"),
    "openrouter": ("langchain_openrouter", "ChatOpenRouter"),
    "perplexity": ("langchain_perplexity", "ChatPerplexity"),
    "together": ("langchain_together", "ChatTogether"),
    "upstage": ("langchain_upstage", "ChatUpstage"),
    "xai": ("langchain_xai", "ChatXAI"),
}
"""LangChain providers graphkit has no adapter for: provider -> (module, class) of the
``langchain-*`` package that has one; ``init_chat_model`` wraps it."""


def provider_class(provider: str) -> Callable[..., Any] | None:
    """The LangChain chat model class for ``provider``, or None if graphkit does not know
    one. Raises ``ImportError`` (with ``.name``) when its package is not installed."""
    found = PROVIDER_CLASSES.get(provider)
    if found is None:
        return None
    module_name, class_name = found
    cls: Callable[..., Any] = getattr(importlib.import_module(module_name), class_name)
    return cls


def langchain_hint(exc: BaseException) -> str | None:
    """What to do when a node handed graphkit messages to a LangChain model or chain
    (LangChain raises ``NotImplementedError: Unsupported message type: <class
    'graphkit.messages...'>``), or None for any other error."""
    text = str(exc)
    if isinstance(exc, NotImplementedError) and "'graphkit.messages." in text:
        return (
            "A LangChain runnable was given graphkit messages. Wrap a chat model once: "
            "model = LangChainChatModel(model) (graphkit.models) takes and returns "
            "graphkit messages. Give a chain or prompt LangChain's: "
            "to_langchain_messages(state['messages']) (graphkit.messages), or add the "
            "chain itself as a node, which converts them."
        )
    return None


# -- runnables as nodes -------------------------------------------------------------


def is_langchain_runnable(obj: Any) -> bool:
    """Whether ``obj`` is a LangChain ``Runnable`` (a chain, a ``RunnableLambda``, a
    prompt, a model, ...)."""
    return _class_from(type(obj), "langchain_core.runnables")


class LangChainNode:
    """A LangChain runnable as a graph node, as LangGraph runs one: ``invoke(state,
    config)`` (``ainvoke`` in async runs). The runnable sees LangChain messages where the
    state holds graphkit's (a top-level message or list of messages), since LangChain
    cannot read graphkit's; the messages it returns become graphkit's in the state."""

    def __init__(self, runnable: Any) -> None:
        self.runnable = runnable
        get_name = getattr(runnable, "get_name", None)
        self.__name__ = str(get_name() if callable(get_name) else type(runnable).__name__)
        self.steps: list[Any] | None = _sequence_steps(runnable)
        """A plain ``RunnableSequence``'s steps, which the node runs itself, as LangGraph
        does (each a step of the node's run, ``seq:step:N``; no run of the sequence)."""

    def __call__(self, state: Any, config: Any) -> Any:
        value = for_langchain_state(state)
        if self.steps is None:
            return self.runnable.invoke(value, config)
        for config_i, step in _step_configs(config, self.steps):
            value = step.invoke(value, config_i)
        return value

    async def ainvoke(self, state: Any, config: Any) -> Any:
        value = for_langchain_state(state)
        if self.steps is None:
            return await self.runnable.ainvoke(value, config)
        for config_i, step in _step_configs(config, self.steps):
            value = await step.ainvoke(value, config_i)
        return value


def _sequence_steps(runnable: Any) -> list[Any] | None:
    """The steps of a LangChain ``RunnableSequence`` (exactly one: a subclass may run
    its own way), else None."""
    from langchain_core.runnables import RunnableSequence

    return list(runnable.steps) if type(runnable) is RunnableSequence else None


def _step_configs(config: Any, steps: list[Any]) -> Iterator[tuple[Any, Any]]:
    """Each step's config, with the step after it: the node's callbacks, tagged
    ``seq:step:N`` in place of the node's ``seq:step:1``, as LangGraph's node runs a
    sequence's steps."""
    from langchain_core.runnables.config import (
        ensure_config,
        get_callback_manager_for_config,
        patch_config,
    )

    config = ensure_config(config)
    manager = get_callback_manager_for_config(config)
    others = [t for t in manager.tags if t != "seq:step:1"]
    for number, step in enumerate(steps, 1):
        child = manager.copy()
        child.tags = [f"seq:step:{number}", *others]
        yield patch_config(config, callbacks=child), step


def for_langchain_state(state: Any) -> Any:
    """``state`` with its graphkit messages (top-level values) as LangChain's."""
    if not isinstance(state, dict):
        return state
    return {key: for_langchain(value) for key, value in state.items()}


def mentions_langchain_message(annotation: Any, depth: int = 0) -> bool:
    """Whether a type annotation names a LangChain message class (in a list, a union,
    ``Annotated``, LangChain's ``AnyMessage``, ...)."""
    if isinstance(annotation, type) and _class_from(annotation, _MESSAGES_MODULE):
        return True
    return depth < 8 and any(
        mentions_langchain_message(arg, depth + 1) for arg in typing.get_args(annotation)
    )


def code_speaks_langchain(fn: Any) -> bool:
    """Whether the code of ``fn`` (a function, a method) names LangChain's messages or
    a LangChain runnable (a chat model, a chain, a prompt): a global or closure variable
    it uses holds a ``langchain_core`` message class, the ``langchain_core.messages``
    module, or a runnable. Such code was written for LangGraph, whose state holds
    LangChain's messages (``GraphTables.langchain``). Read once, when a graph compiles."""
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    found = getattr(fn, "__globals__", None) or {}
    values = [found[name] for name in _global_names(code) if name in found]
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:  # a cell not filled yet
            continue
    return any(map(_langchain_thing, values))


def _global_names(code: Any, depth: int = 0) -> set[str]:
    """The global names ``code`` and the functions defined in it use."""
    names = set(code.co_names)
    if depth < 4:
        for const in code.co_consts:
            if hasattr(const, "co_names"):
                names |= _global_names(const, depth + 1)
    return names


def _langchain_thing(value: Any) -> bool:
    if isinstance(value, type):
        return _class_from(value, _MESSAGES_MODULE)
    if isinstance(value, types.ModuleType):  # (its message class, not just its name)
        named = value.__name__.startswith(_MESSAGES_MODULE)
        return named and _langchain_thing(getattr(value, "BaseMessage", None))
    return is_langchain_runnable(value) or is_langchain_chat_model(value)


def for_langchain(value: Any) -> Any:
    """A graphkit message, or a list of them, as LangChain's; anything else as it is."""
    from graphkit.messages import BaseMessage

    if isinstance(value, BaseMessage):
        return to_langchain_message(value)
    if isinstance(value, list) and any(isinstance(m, BaseMessage) for m in value):
        if type(value) is list:  # a history's view is remembered: O(new) next time
            from graphkit._langchain_view import langchain_view

            return langchain_view(value)
        return [to_langchain_message(m) if isinstance(m, BaseMessage) else m for m in value]
    return value

"""Models by name, the way LangChain users write them: ``"anthropic:claude-sonnet-4-5"``.

``init_chat_model`` and ``init_embeddings`` read a ``provider:model`` string (or
a model name whose provider is clear from its prefix, or ``model_provider=``),
import the provider's SDK only then, and pass every other keyword to the
class's constructor::

    init_chat_model("anthropic:claude-sonnet-4-5")       # ChatAnthropic
    init_chat_model("gpt-4.1", temperature=0)            # ChatOpenAI (inferred)
    init_embeddings("openai:text-embedding-3-small")     # OpenAIEmbeddings

Built in: ``anthropic`` and ``openai`` chat models, ``openai`` embeddings. For the
other chat providers LangChain knows, ``init_chat_model`` builds LangChain's model from
its ``langchain-*`` package (when installed) wrapped in :class:`LangChainChatModel`.

``init_chat_model()`` without a model, or with ``configurable_fields``, returns a
:class:`ConfigurableChatModel` that picks its settings from the run's
``config["configurable"]`` on each call.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

from graphkit._extras import missing_extra
from graphkit._langchain import PROVIDER_CLASSES, provider_class
from graphkit.messages import AIMessage, AIMessageChunk, BaseMessage
from graphkit.models.base import BaseChatModel, LanguageModelInput, ToolChoice
from graphkit.models.errors import MissingProviderPackageError, ModelConfigError
from graphkit.models.langchain import LangChainChatModel

__all__ = [
    "CHAT_PROVIDERS",
    "EMBEDDING_PROVIDERS",
    "ConfigurableChatModel",
    "init_chat_model",
    "init_embeddings",
    "parse_model",
]

CHAT_PROVIDERS: dict[str, tuple[str, str]] = {
    "anthropic": ("graphkit.models.anthropic", "ChatAnthropic"),
    "openai": ("graphkit.models.openai", "ChatOpenAI"),
}
"""Chat providers built in: name -> (module, class). The extra to install has the same name."""

EMBEDDING_PROVIDERS: dict[str, tuple[str, str]] = {
    "openai": ("graphkit.models.embeddings", "OpenAIEmbeddings"),
}
"""Embedding providers built in: name -> (module, class)."""

_LANGCHAIN_PROVIDERS = frozenset(
    {
        "anthropic",
        "anthropic_bedrock",
        "azure_ai",
        "azure_openai",
        "bedrock",
        "bedrock_converse",
        "cohere",
        "deepseek",
        "fireworks",
        "google_anthropic_vertex",
        "google_genai",
        "google_vertexai",
        "groq",
        "huggingface",
        "ibm",
        "mistralai",
        "nvidia",
        "ollama",
        "openai",
        "openrouter",
        "perplexity",
        "together",
        "upstage",
        "xai",
    }
)
"""Provider names LangChain accepts (a ``name:`` prefix of these is a provider, not part
of the model name); only those in ``CHAT_PROVIDERS`` have an adapter here."""

_PREFIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("gpt-", "o1", "o3", "o4", "chatgpt", "text-davinci"), "openai"),
    (("claude",), "anthropic"),
    (("command",), "cohere"),
    (("accounts/fireworks",), "fireworks"),
    (("gemini",), "google_vertexai"),
    (("amazon.", "anthropic.", "meta."), "bedrock"),
    (("mistral", "mixtral"), "mistralai"),
    (("deepseek",), "deepseek"),
    (("grok",), "xai"),
    (("sonar",), "perplexity"),
    (("solar",), "upstage"),
)
"""Model-name prefixes that name their provider (LangChain's inference rules)."""


def infer_provider(model: str) -> str | None:
    """The provider a model name implies (``"claude-..."`` -> ``"anthropic"``), or None.

    >>> infer_provider("gpt-4.1"), infer_provider("claude-sonnet-4-5"), infer_provider("x")
    ('openai', 'anthropic', None)
    """
    lowered = model.lower()
    for prefixes, provider in _PREFIXES:
        if lowered.startswith(prefixes):
            return provider
    return None


def parse_model(model: str, model_provider: str | None = None) -> tuple[str, str]:
    """``(model, provider)`` from ``"provider:model"``, ``model_provider`` or the name.

    >>> parse_model("anthropic:claude-sonnet-4-5")
    ('claude-sonnet-4-5', 'anthropic')
    >>> parse_model("gpt-4.1")
    ('gpt-4.1', 'openai')
    >>> parse_model("my-finetune", "openai")
    ('my-finetune', 'openai')
    """
    prefix, sep, rest = model.partition(":")
    if not model_provider and sep and _normalize(prefix) in _LANGCHAIN_PROVIDERS:
        model, model_provider = rest, prefix
    provider = model_provider or infer_provider(model)
    if not provider:
        raise ModelConfigError(
            f"cannot tell the provider of model {model!r}: write it as 'provider:model' "
            f"(e.g. 'anthropic:{model}') or pass model_provider=... "
            f"(built in: {', '.join(sorted(CHAT_PROVIDERS))})"
        )
    return model, _normalize(provider)


def _normalize(provider: str) -> str:
    return provider.replace("-", "_").lower()


def _load_class(provider: str, table: dict[str, tuple[str, str]], what: str) -> Any:
    if provider not in table:
        known = ", ".join(sorted(table))
        elsewhere = (
            f"{provider!r} is a LangChain provider without a graphkit adapter; "
            if provider in _LANGCHAIN_PROVIDERS
            else f"unknown {what} provider {provider!r}; "
        )
        raise ModelConfigError(
            f"{elsewhere}built in: {known}. Pass a model object instead "
            "(any object with the same methods works)."
        )
    module_name, class_name = table[provider]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is None or exc.name.startswith("graphkit"):
            raise
        raise MissingProviderPackageError(str(missing_extra(class_name, exc.name))) from exc
    return getattr(module, class_name)


def init_chat_model(
    model: str | None = None,
    *,
    model_provider: str | None = None,
    configurable_fields: Literal["any"] | Sequence[str] | None = None,
    config_prefix: str | None = None,
    **kwargs: Any,
) -> BaseChatModel:
    """A chat model from ``"provider:model"`` and constructor keywords, as LangChain's.

    ``kwargs`` go to the provider class (``temperature``, ``max_tokens``,
    ``base_url``, ``thinking``, ...). With no ``model``, or with
    ``configurable_fields`` (``"any"`` or names such as ``("model", "temperature")``),
    returns a :class:`ConfigurableChatModel` whose settings come from
    ``config["configurable"]`` (keys prefixed ``"{config_prefix}_"`` when given).

    >>> init_chat_model("anthropic:claude-sonnet-4-5", api_key="k").model
    'claude-sonnet-4-5'
    >>> init_chat_model("mistral-large")
    Traceback (most recent call last):
    ...
    graphkit.models.errors.MissingProviderPackageError: 'mistralai' has no graphkit adapter; graphkit wraps LangChain's ChatMistralAI for it, from langchain-mistralai, which is not installed: pip install langchain-mistralai (or pass a model object)

    Other providers LangChain knows (``"ollama:llama3.2"``, ``"bedrock_converse:..."``,
    ``"google_genai:..."``, ...) are LangChain's chat model from its ``langchain-*``
    package, wrapped in :class:`LangChainChatModel`.
    """
    if model is not None and not isinstance(model, str):
        raise ModelConfigError(
            f"model must be a string such as 'openai:gpt-4.1', got {type(model).__name__}; "
            "a model object can be used directly without init_chat_model"
        )
    if not model and not configurable_fields:
        configurable_fields = ("model", "model_provider")
    if not configurable_fields:
        assert model is not None
        return _create_chat_model(model, model_provider, kwargs)
    defaults = dict(kwargs)
    if model:
        defaults["model"] = model
    if model_provider:
        defaults["model_provider"] = model_provider
    return ConfigurableChatModel(defaults, fields=configurable_fields, prefix=config_prefix or "")


def _create_chat_model(
    model: str, model_provider: str | None, kwargs: dict[str, Any]
) -> BaseChatModel:
    name, provider = parse_model(model, model_provider)
    if provider not in CHAT_PROVIDERS and provider in PROVIDER_CLASSES:
        return LangChainChatModel(_langchain_class(provider)(model=name, **kwargs))
    cls = _load_class(provider, CHAT_PROVIDERS, "chat model")
    chat_model: BaseChatModel = cls(model=name, **kwargs)
    return chat_model


def _langchain_class(provider: str) -> Any:
    """LangChain's chat model class for a provider graphkit has no adapter for."""
    module_name, class_name = PROVIDER_CLASSES[provider]
    try:
        return provider_class(provider)
    except ImportError as exc:
        package = module_name.split(".")[0].replace("_", "-")
        raise MissingProviderPackageError(
            f"{provider!r} has no graphkit adapter; graphkit wraps LangChain's {class_name} "
            f"for it, from {package}, which is not installed: pip install {package} "
            "(or pass a model object)"
        ) from exc


def init_embeddings(model: str, *, provider: str | None = None, **kwargs: Any) -> Any:
    """Embeddings from ``"provider:model"`` (or ``provider=``), as LangChain's.

    ``kwargs`` go to the provider class (``dimensions``, ``api_key``, ``base_url``, ...).

    >>> init_embeddings("openai:text-embedding-3-small", api_key="k").model
    'text-embedding-3-small'
    >>> init_embeddings("text-embedding-3-small")
    Traceback (most recent call last):
    ...
    graphkit.models.errors.ModelConfigError: embeddings need a provider: write 'openai:text-embedding-3-small' or pass provider=... (built in: openai)
    """
    prefix, sep, rest = model.partition(":")
    if not provider and sep:
        provider, model = prefix, rest
    if not provider:
        raise ModelConfigError(
            f"embeddings need a provider: write 'openai:{model}' or pass provider=... "
            f"(built in: {', '.join(sorted(EMBEDDING_PROVIDERS))})"
        )
    cls = _load_class(_normalize(provider), EMBEDDING_PROVIDERS, "embeddings")
    return cls(model=model, **kwargs)


class ConfigurableChatModel(BaseChatModel):
    """A chat model chosen per call from ``config["configurable"]`` (``init_chat_model``).

    Each call builds the model from the defaults given to ``init_chat_model``
    overlaid with the configurable keys of the call's config (the ``config``
    argument, or inside a graph the run's config), then replays ``bind_tools``.

    >>> m = init_chat_model(configurable_fields=("model",), api_key="k")
    >>> m.resolve({"configurable": {"model": "anthropic:claude-haiku-4-5"}}).model
    'claude-haiku-4-5'
    """

    provider = "configurable"

    def __init__(
        self,
        defaults: dict[str, Any],
        *,
        fields: Literal["any"] | Sequence[str],
        prefix: str = "",
        bound: tuple[tuple[str, tuple[Any, ...], dict[str, Any]], ...] = (),
    ) -> None:
        self.defaults = defaults
        """Keywords for ``init_chat_model`` before any config is applied."""
        self.fields: Literal["any"] | tuple[str, ...] = "any" if fields == "any" else tuple(fields)
        """Which settings a config may change (``"any"``: all, including api_key)."""
        self.prefix = prefix + "_" if prefix and not prefix.endswith("_") else prefix
        """Prefix of this model's keys in ``config["configurable"]``."""
        self.bound = bound
        """``bind_tools``/``bind`` calls (method, args, kwargs) replayed on each built model."""
        self.model = str(defaults.get("model", ""))

    def _settings(self, config: dict[str, Any] | None) -> dict[str, Any]:
        configurable = (config or _run_config()).get("configurable") or {}
        chosen = {
            key[len(self.prefix) :]: value
            for key, value in configurable.items()
            if key.startswith(self.prefix)
        }
        if self.fields != "any":
            chosen = {k: v for k, v in chosen.items() if k in self.fields}
        return {**self.defaults, **chosen}

    def resolve(self, config: dict[str, Any] | None = None) -> BaseChatModel:
        """The model this config selects (tools bound)."""
        settings = self._settings(config)
        model = settings.pop("model", None)
        provider = settings.pop("model_provider", None)
        if not model:
            raise ModelConfigError(
                f"no model chosen: pass config={{'configurable': {{'{self.prefix}model': "
                "'provider:model'}}, or give init_chat_model a default model"
            )
        built = _create_chat_model(model, provider, settings)
        for method, args, kwargs in self.bound:
            built = getattr(built, method)(*args, **kwargs)
        return built

    def _queue(self, method: str, *args: Any, **kwargs: Any) -> ConfigurableChatModel:
        return ConfigurableChatModel(
            self.defaults,
            fields=self.fields,
            prefix=self.prefix,
            bound=(*self.bound, (method, args, kwargs)),
        )

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: ToolChoice | bool = None, **kwargs: Any
    ) -> ConfigurableChatModel:
        """A copy that binds ``tools`` on whichever model each call selects."""
        return self._queue("bind_tools", tools, tool_choice=tool_choice, **kwargs)

    def bind(self, **kwargs: Any) -> ConfigurableChatModel:
        """A copy that binds ``kwargs`` on whichever model each call selects."""
        return self._queue("bind", **kwargs)

    def invoke(self, input: LanguageModelInput, config: Any = None, **kwargs: Any) -> AIMessage:
        """``invoke`` on the model ``config`` selects."""
        return self.resolve(config).invoke(input, **kwargs)

    async def ainvoke(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> AIMessage:
        """Async ``invoke``."""
        return await self.resolve(config).ainvoke(input, **kwargs)

    def stream(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> Iterator[AIMessageChunk]:
        """``stream`` on the model ``config`` selects."""
        yield from self.resolve(config).stream(input, **kwargs)

    async def astream(
        self, input: LanguageModelInput, config: Any = None, **kwargs: Any
    ) -> AsyncIterator[AIMessageChunk]:
        """Async ``stream``."""
        async for chunk in self.resolve(config).astream(input, **kwargs):
            yield chunk

    def _generate(self, messages: list[BaseMessage]) -> AIMessage:
        return self.resolve().invoke(messages)

    def _stream(self, messages: list[BaseMessage]) -> Iterator[AIMessageChunk]:
        yield from self.resolve().stream(messages)


def _run_config() -> Mapping[str, Any]:
    """The running graph's config, or {} outside a run."""
    try:
        from graphkit.context import CURRENT_TASK
    except ImportError:  # pragma: no cover - engine not installed
        return {}
    task = CURRENT_TASK.get()
    return task.config() if task is not None else {}

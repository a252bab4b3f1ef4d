"""Chat models (Anthropic, OpenAI, a scripted fake, any LangChain chat model wrapped) behind
one ``BaseChatModel`` interface.

Provider classes import their SDK only when used, so ``import graphkit.models``
works without ``anthropic`` or ``openai`` installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphkit.models.base import BaseChatModel, StructuredOutputModel
from graphkit.models.errors import (
    MissingAPIKeyError,
    MissingProviderPackageError,
    ModelAuthenticationError,
    ModelBadRequestError,
    ModelConfigError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
    ModelProviderError,
    ModelRateLimitError,
    OutputParserError,
)
from graphkit.models.fake import FakeChatModel, FakeModelExhaustedError
from graphkit.models.langchain import LangChainChatModel
from graphkit.models.providers import ConfigurableChatModel, init_chat_model, init_embeddings

if TYPE_CHECKING:
    from graphkit.models.anthropic import ChatAnthropic
    from graphkit.models.embeddings import OpenAIEmbeddings, SentenceTransformerEmbeddings
    from graphkit.models.openai import ChatOpenAI

__all__ = [
    "BaseChatModel",
    "ChatAnthropic",
    "ChatOpenAI",
    "ConfigurableChatModel",
    "FakeChatModel",
    "FakeModelExhaustedError",
    "LangChainChatModel",
    "MissingAPIKeyError",
    "MissingProviderPackageError",
    "ModelAuthenticationError",
    "ModelBadRequestError",
    "ModelConfigError",
    "ModelConnectionError",
    "ModelError",
    "ModelNotFoundError",
    "ModelProviderError",
    "ModelRateLimitError",
    "OpenAIEmbeddings",
    "OutputParserError",
    "SentenceTransformerEmbeddings",
    "StructuredOutputModel",
    "init_chat_model",
    "init_embeddings",
]

_LAZY = {
    "ChatAnthropic": "graphkit.models.anthropic",
    "ChatOpenAI": "graphkit.models.openai",
    "OpenAIEmbeddings": "graphkit.models.embeddings",
    "SentenceTransformerEmbeddings": "graphkit.models.embeddings",
}


def __getattr__(name: str) -> Any:
    """Import provider classes on first use (their SDKs are optional dependencies)."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'graphkit.models' has no attribute {name!r}")
    import importlib

    from graphkit._extras import missing_extra

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is None or exc.name.startswith("graphkit"):
            raise
        raise missing_extra(name, exc.name) from exc
    return getattr(module, name)

"""Errors raised by chat models: one class per thing the caller can act on.

Provider SDK exceptions are translated here so callers catch ``ModelRateLimitError``
whether the model is Anthropic's or OpenAI's. Each error names the provider, the
HTTP status and what to do; the SDK exception stays available as ``__cause__``.
"""

from __future__ import annotations

from graphkit.errors import GraphkitError, MissingExtraError

__all__ = [
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
    "OutputParserError",
    "translate_provider_error",
]


class ModelError(Exception):
    """Base of every chat-model error."""

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        status_code: int | None = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        """Which provider failed ("anthropic", "openai", "fake")."""
        self.status_code = status_code
        """The HTTP status, when the provider answered."""
        self.model = model
        """The model name that was asked for."""


class ModelConfigError(GraphkitError, ValueError):
    """A model was asked for wrongly: no model name, an unknown provider, a bad setting."""


class MissingProviderPackageError(MissingExtraError):
    """The provider's SDK is not installed; the message names the extra to install."""


class ModelAuthenticationError(ModelError):
    """401/403: the API key is missing, wrong or lacks permission."""


class MissingAPIKeyError(ModelAuthenticationError):
    """No API key was given and the provider's environment variable is not set."""


class ModelNotFoundError(ModelError):
    """404: the model name (or endpoint) does not exist for this account."""


class ModelRateLimitError(ModelError):
    """429: too many requests or tokens; retried ``max_retries`` times already."""


class ModelBadRequestError(ModelError):
    """400/413/422: the request was rejected as invalid (messages, tools, parameters)."""


class ModelProviderError(ModelError):
    """5xx (and Anthropic's 529 overloaded): the provider failed; retried already."""


class ModelConnectionError(ModelError):
    """The provider could not be reached, or the request timed out."""


class OutputParserError(ModelError, ValueError):
    """``with_structured_output`` got no usable answer in the requested schema."""


_HINTS: dict[type[ModelError], str] = {
    ModelAuthenticationError: "check the API key ({env_var})",
    ModelNotFoundError: "check the model name {model!r} (and base_url)",
    ModelRateLimitError: "slow down, or raise max_retries to wait and retry longer",
    ModelBadRequestError: "fix the request described above",
    ModelProviderError: "the provider failed; retry later or raise max_retries",
}


def _class_for_status(status: int) -> type[ModelError]:
    if status in (401, 403):
        return ModelAuthenticationError
    if status == 404:
        return ModelNotFoundError
    if status == 429:
        return ModelRateLimitError
    if status >= 500:
        return ModelProviderError
    if 400 <= status < 500:
        return ModelBadRequestError
    return ModelProviderError


def translate_provider_error(
    exc: Exception, *, provider: str, model: str, env_var: str
) -> ModelError:
    """Map an SDK exception (anthropic or openai, same shapes) to our ``ModelError``.

    Status errors carry ``status_code`` and ``message``; connection and timeout
    errors have neither and become ``ModelConnectionError``.
    """
    status = getattr(exc, "status_code", None)
    detail = getattr(exc, "message", None) or str(exc)
    if not isinstance(status, int):
        return ModelConnectionError(
            f"{provider}: could not reach the API for model {model!r}: {detail}. "
            "Check the network, base_url and timeout.",
            provider=provider,
            model=model,
        )
    cls = _class_for_status(status)
    hint = _HINTS[cls].format(env_var=env_var, model=model)
    return cls(
        f"{provider} returned HTTP {status} for model {model!r}: {detail}. {hint[:1].upper()}{hint[1:]}.",
        provider=provider,
        status_code=status,
        model=model,
    )

"""``langgraph.warnings``: the deprecation warnings graphkit raises where LangGraph
deprecates something, under LangGraph's names, so filters written for LangGraph
(``warnings.filterwarnings("ignore", category=LangGraphDeprecationWarning)``) apply.

>>> import warnings
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     warnings.warn(LangGraphDeprecatedSinceV10("`x` is deprecated. Use `y`."))
>>> str(caught[0].message)
'`x` is deprecated. Use `y`. Deprecated in LangGraph V1.0 to be removed in V2.0.'
"""

from __future__ import annotations

__all__ = [
    "LangGraphDeprecatedSinceV05",
    "LangGraphDeprecatedSinceV10",
    "LangGraphDeprecatedSinceV11",
    "LangGraphDeprecationWarning",
]


class LangGraphDeprecationWarning(DeprecationWarning):
    """Something deprecated, with the LangGraph version that deprecated it (``since``)
    and the one expected to remove it (``expected_removal``, default: next major)."""

    message: str
    """What is deprecated and what to use instead (without a final period)."""
    since: tuple[int, int]
    """The LangGraph (major, minor) version that deprecated it."""
    expected_removal: tuple[int, int]
    """The (major, minor) version expected to remove it."""

    def __init__(
        self,
        message: str,
        *args: object,
        since: tuple[int, int],
        expected_removal: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message, *args)
        self.message = message.rstrip(".")
        self.since = since
        self.expected_removal = expected_removal or (since[0] + 1, 0)

    def __str__(self) -> str:
        (major, minor), (end_major, end_minor) = self.since, self.expected_removal
        return (
            f"{self.message}. Deprecated in LangGraph V{major}.{minor} "
            f"to be removed in V{end_major}.{end_minor}."
        )


class LangGraphDeprecatedSinceV05(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 0.5, to be removed in 2.0."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(0, 5), expected_removal=(2, 0))


class LangGraphDeprecatedSinceV10(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 1.0, to be removed in 2.0."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(1, 0), expected_removal=(2, 0))


class LangGraphDeprecatedSinceV11(LangGraphDeprecationWarning):
    """Deprecated since LangGraph 1.1, to be removed in 3.0."""

    def __init__(self, message: str, *args: object) -> None:
        super().__init__(message, *args, since=(1, 1), expected_removal=(3, 0))

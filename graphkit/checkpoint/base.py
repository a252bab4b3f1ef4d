"""``langgraph.checkpoint.base``: the checkpoint saver interface and its records."""

from graphkit.stores.checkpoint.base import *  # noqa: F403  (the public path of the same names)
from graphkit.stores.checkpoint.base import __all__ as __all__

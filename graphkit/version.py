"""``langgraph.version``: the installed graphkit's version.

>>> from graphkit.version import __version__
>>> bool(__version__)
True
"""

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__ = metadata.version("graphkit")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = ""

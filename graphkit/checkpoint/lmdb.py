"""The embedded durable saver: one LMDB environment, one transaction per superstep.

Pass an :class:`LMDBEnv` to share one environment with an ``LMDBStore``.
"""

from graphkit.stores._lmdb import LMDBEnv
from graphkit.stores.checkpoint.lmdb import LMDBSaver

__all__ = ["LMDBEnv", "LMDBSaver"]

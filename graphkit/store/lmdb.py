"""The embedded durable memory store: LMDB as the truth, an hnswlib index beside it.

Pass an :class:`LMDBEnv` to share one environment with an ``LMDBSaver``.
"""

from graphkit.stores._lmdb import LMDBEnv
from graphkit.stores.store.lmdb_store import LMDBStore

__all__ = ["LMDBEnv", "LMDBStore"]

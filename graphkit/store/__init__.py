"""``langgraph.store`` under graphkit: the long-term memory store.

``graphkit.store.base`` holds the interface and its operations (``.base.batch``: a
base store that batches concurrent async calls), ``.memory`` the in-process store and
``.lmdb`` the embedded durable one with hnswlib search.
The code lives in :mod:`graphkit.stores.store`.
"""

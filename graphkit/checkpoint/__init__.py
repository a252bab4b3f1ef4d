"""``langgraph.checkpoint`` under graphkit: the saver interface and the savers.

``graphkit.checkpoint.base`` holds the interface, ``.memory`` the in-process saver
and ``.lmdb`` the embedded durable one. The code lives in :mod:`graphkit.stores`.
"""

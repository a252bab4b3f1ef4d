"""``langgraph.utils``: LangGraph's legacy helper modules (``graphkit.utils.config``)."""

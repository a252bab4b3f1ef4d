"""``langgraph.managed.is_last_step``: LangGraph's older path of ``IsLastStep`` and
``RemainingSteps`` (``graphkit.managed`` is their home)."""

from graphkit.managed import IsLastStep, RemainingSteps

__all__ = ["IsLastStep", "RemainingSteps"]

"""graphkit's performance suite: every workload runs in graphkit and LangGraph side by side."""

"""``init_chat_model`` where LangChain users import it (``langchain.chat_models``).

>>> from graphkit.chat_models import init_chat_model
>>> init_chat_model("openai:gpt-4.1", temperature=0, api_key="k").temperature
0
"""

from graphkit.models.base import BaseChatModel
from graphkit.models.providers import ConfigurableChatModel, init_chat_model

__all__ = ["BaseChatModel", "ConfigurableChatModel", "init_chat_model"]

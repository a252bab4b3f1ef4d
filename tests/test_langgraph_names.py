"""LangGraph's public names at the same paths: what they do in graphkit (the parity
check that they all exist is tests/parity/test_public_names.py)."""

from __future__ import annotations

import asyncio
import importlib
import operator
import warnings
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

from graphkit.checkpoint.base import (
    ERROR,
    INTERRUPT,
    LATEST_VERSION,
    RESUME,
    SCHEDULED,
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    copy_checkpoint,
    empty_checkpoint,
)
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.checkpoint.serde.encrypted import EncryptedSerializer
from graphkit.checkpoint.serde.jsonplus import JsonPlusSerializer
from graphkit.errors import (
    EmptyChannelError,
    ErrorCode,
    GraphCompileError,
    GraphkitError,
    GraphRecursionError,
    InvalidArgumentError,
    InvalidCallError,
    InvalidStoreConfigError,
    InvalidUpdateError,
    MissingExtraError,
    NodeInterrupt,
    ReplacedModuleError,
    SaverNotImplementedError,
    TaskNotFound,
    create_error_message,
)
from graphkit.graph import END, START, MessageGraph, StateGraph
from graphkit.store.base import ensure_embeddings
from graphkit.store.memory import InMemoryStore
from graphkit.types import Interrupt, Send
from graphkit.warnings import (
    LangGraphDeprecatedSinceV05,
    LangGraphDeprecatedSinceV10,
    LangGraphDeprecatedSinceV11,
    LangGraphDeprecationWarning,
)


class Count(TypedDict):
    n: int


def _loop() -> Any:
    builder = StateGraph(Count).add_node("a", lambda s: {"n": s["n"] + 1})
    return builder.add_edge(START, "a").add_edge("a", "a").compile()


def test_the_recursion_error_links_langgraphs_troubleshooting_page() -> None:
    with pytest.raises(GraphRecursionError) as caught:
        _loop().invoke({"n": 0}, {"recursion_limit": 3})
    assert str(caught.value).endswith("/errors/GRAPH_RECURSION_LIMIT")
    assert "Recursion limit of 3 reached" in str(caught.value)


def test_a_concurrent_update_error_links_its_page() -> None:
    builder = StateGraph(Count).add_node("a", lambda s: {"n": 1}).add_node("b", lambda s: {"n": 2})
    graph = builder.add_edge(START, "a").add_edge(START, "b").compile()
    with pytest.raises(InvalidUpdateError, match="errors/INVALID_CONCURRENT_GRAPH_UPDATE$"):
        graph.invoke({"n": 0})


def test_error_messages_end_with_the_codes_link() -> None:
    text = create_error_message(message="Bad.", error_code=ErrorCode.INVALID_CHAT_HISTORY)
    assert text.splitlines() == [
        "Bad.",
        "For troubleshooting, visit: "
        "https://docs.langchain.com/oss/python/langgraph/errors/INVALID_CHAT_HISTORY",
    ]


@pytest.mark.parametrize("error", [EmptyChannelError, TaskNotFound])
def test_langgraphs_lookup_errors_are_graphkit_errors(error: type[Exception]) -> None:
    assert issubclass(error, GraphkitError) and issubclass(error, LookupError)


def test_message_graph_warns_and_keeps_one_message_list() -> None:
    with pytest.warns(LangGraphDeprecatedSinceV10, match="MessageGraph is deprecated"):
        builder = MessageGraph()
    builder.add_node("bot", lambda messages: [("assistant", f"{len(messages)} so far")])
    builder.add_edge(START, "bot").add_edge("bot", END)
    out = builder.compile().invoke([("user", "hi")])
    assert [(m.type, m.content) for m in out] == [("human", "hi"), ("ai", "1 so far")]


@pytest.mark.parametrize(
    ("warning", "since", "until"),
    [
        (LangGraphDeprecatedSinceV05, (0, 5), (2, 0)),
        (LangGraphDeprecatedSinceV10, (1, 0), (2, 0)),
        (LangGraphDeprecatedSinceV11, (1, 1), (3, 0)),
    ],
)
def test_deprecation_warnings_say_when_and_until(
    warning: type[LangGraphDeprecationWarning], since: tuple[int, int], until: tuple[int, int]
) -> None:
    raised = warning("Old thing.")
    assert issubclass(warning, DeprecationWarning)
    assert (raised.since, raised.expected_removal) == (since, until)
    assert str(raised) == (
        f"Old thing. Deprecated in LangGraph V{since[0]}.{since[1]} "
        f"to be removed in V{until[0]}.{until[1]}."
    )


def test_node_interrupt_and_interrupt_id_warn_as_langgraph_does() -> None:
    with pytest.warns(LangGraphDeprecatedSinceV10):
        NodeInterrupt("stop")
    with pytest.warns(LangGraphDeprecatedSinceV10, match="`interrupt_id` is deprecated"):
        assert Interrupt("q", id="abc").interrupt_id == "abc"


def test_send_from_constants_warns_and_is_the_types_one() -> None:
    constants = importlib.import_module("graphkit.constants")
    with pytest.warns(LangGraphDeprecatedSinceV10, match="from graphkit.types import Send"):
        assert constants.Send is Send
    assert constants.CONF == "configurable"
    with pytest.raises(AttributeError):
        constants.Nope  # noqa: B018


def test_version_is_the_installed_graphkits() -> None:
    from importlib.metadata import version

    from graphkit.version import __version__

    assert __version__ == version("graphkit")


def test_checkpoint_constants_and_copy() -> None:
    assert [WRITES_IDX_MAP[k] for k in (ERROR, SCHEDULED, INTERRUPT, RESUME)] == [-1, -2, -3, -4]
    assert empty_checkpoint()["v"] == LATEST_VERSION
    first = empty_checkpoint()
    first["channel_values"]["x"] = [1]
    second = copy_checkpoint(first)
    second["channel_values"]["y"] = 2
    assert (
        first["channel_values"] == {"x": [1]}
        and second["channel_values"]["x"] is first["channel_values"]["x"]
    )


def test_saver_versions_count_up_as_langgraphs() -> None:
    saver = InMemorySaver()
    assert [saver.get_next_version(v) for v in (None, 1, 2.0)] == [1, 2, 3.0]
    text = saver.get_next_version("00000000000000000000000000000009.123")
    assert text.startswith("00000000000000000000000000000010.")
    assert saver.config_specs == []


def test_with_allowlist_keeps_the_strict_serializer() -> None:
    saver = InMemorySaver()
    assert saver.with_allowlist([("myapp", "Model")]) is saver


def test_delete_for_runs_says_what_to_use() -> None:
    saver = InMemorySaver()
    with pytest.raises(SaverNotImplementedError, match="delete_for_runs"):
        saver.delete_for_runs(["run-1"])
    with pytest.raises(SaverNotImplementedError, match="adelete_for_runs"):
        asyncio.run(saver.adelete_for_runs(["run-1"]))


class Nested(TypedDict):
    x: int


def _round_trip(serde: Any) -> Any:
    builder = StateGraph(Nested).add_node("a", lambda s: {"x": s["x"] + 1})
    graph = builder.add_edge(START, "a").compile(checkpointer=InMemorySaver(serde=serde))
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"x": 1}, config)
    return graph.get_state(config).values


def test_json_plus_serializer_is_graphkits_with_langgraphs_arguments() -> None:
    serde = JsonPlusSerializer(pickle_fallback=True, allowed_msgpack_modules=[("myapp", "M")])
    assert serde.pickle_fallback and serde.allow_pickle
    assert _round_trip(serde) == {"x": 2}
    assert not JsonPlusSerializer().pickle_fallback


@pytest.mark.parametrize(
    "kwargs", [{"allowed_json_modules": [("a", "B")]}, {"allowed_msgpack_modules": True}]
)
def test_json_plus_serializer_refuses_to_import_types_named_by_data(kwargs: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="register"):
        JsonPlusSerializer(**kwargs)


class Xor:
    """A toy cipher with LangGraph's CipherProtocol."""

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return "xor", bytes(b ^ 0x5A for b in plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        assert ciphername == "xor"
        return bytes(b ^ 0x5A for b in ciphertext)


def test_encrypted_serializer_encrypts_with_a_langgraph_cipher() -> None:
    serde = EncryptedSerializer(Xor(), JsonPlusSerializer(pickle_fallback=True))
    data = serde.dumps({"secret": "pizza"})
    assert b"pizza" not in data and serde.loads(data) == {"secret": "pizza"}
    assert serde.allow_pickle
    assert _round_trip(serde) == {"x": 2}


def test_aes_needs_pycryptodome_or_says_so() -> None:
    try:
        importlib.import_module("Crypto.Cipher")
    except ImportError:
        with pytest.raises(MissingExtraError, match="pip install pycryptodome"):
            EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
    else:
        serde = EncryptedSerializer.from_pycryptodome_aes(key=b"k" * 16)
        assert serde.loads(serde.dumps({"a": 1})) == {"a": 1}


def test_compile_refuses_langgraphs_stream_transformers() -> None:
    builder = StateGraph(Count).add_node("a", lambda s: {"n": 1}).add_edge(START, "a")
    with pytest.raises(GraphCompileError, match="version='v3'"):
        builder.compile(transformers=[object])
    builder.compile(transformers=[])  # none: nothing to refuse


def test_stream_mode_attribute_is_the_default_of_stream() -> None:
    builder = StateGraph(Count).add_node("a", lambda s: {"n": s["n"] + 1}).add_edge(START, "a")
    graph = builder.compile()
    assert graph.stream_mode == "updates"
    assert list(graph.stream({"n": 0})) == [{"a": {"n": 1}}]
    graph.stream_mode = "values"
    assert list(graph.stream({"n": 0})) == [{"n": 0}, {"n": 1}]
    assert list(graph.stream({"n": 0}, stream_mode="updates")) == [{"a": {"n": 1}}]


@pytest.mark.parametrize(
    ("module", "name", "instead"),
    [
        ("graphkit.pregel", "Pregel", "StateGraph"),
        ("graphkit.pregel.main", "NodeBuilder", "StateGraph"),
        ("graphkit.pregel.remote", "RemoteGraph", "in process"),
        ("graphkit.store.sqlite", "SqliteStore", "LMDBStore"),
        ("graphkit.store.sqlite.aio", "AsyncSqliteStore", "LMDBStore"),
        ("graphkit.cache.sqlite", "SqliteCache", "InMemoryCache"),
        ("graphkit.cache.redis", "RedisCache", "InMemoryCache"),
    ],
)
def test_names_graphkit_replaces_say_what_to_use(module: str, name: str, instead: str) -> None:
    with pytest.raises(ReplacedModuleError, match=instead):
        exec(f"from {module} import {name}", {})
    with pytest.raises(AttributeError):
        importlib.import_module(module).something_else  # noqa: B018


def test_pregel_types_warns_as_deprecated_and_reexports_the_types() -> None:
    import sys

    sys.modules.pop("graphkit.pregel.types", None)
    with pytest.warns(LangGraphDeprecatedSinceV10, match="langgraph.pregel.types"):
        module = importlib.import_module("graphkit.pregel.types")
    assert module.RetryPolicy is importlib.import_module("graphkit.types").RetryPolicy


def test_store_ttl_config_and_embeddings_helpers() -> None:
    assert InMemoryStore().ttl_config is not None  # the store's (here: no expiry)
    assert InMemoryStore(ttl={"default_ttl": 5}).ttl_config == {"default_ttl": 5}
    embed = ensure_embeddings(lambda texts: [[1.0, 0.0] for _ in texts])
    assert embed.embed_query("x") == [1.0, 0.0]
    with pytest.raises(InvalidStoreConfigError, match="dims"):
        ensure_embeddings(None)


def test_reducer_keys_still_start_empty_next_to_channel_keys() -> None:
    """(The channel declarations leave plain reducer keys as they were.)"""

    class State(TypedDict, total=False):
        log: Annotated[list[str], operator.add]

    graph = StateGraph(State).add_node("a", lambda s: {}).add_edge(START, "a").compile()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert graph.invoke({}) == {"log": []}


def test_base_saver_is_langgraphs_shape() -> None:
    assert isinstance(BaseCheckpointSaver().config_specs, list)


def test_the_legacy_utils_config_path_gives_the_config_helpers() -> None:
    from graphkit.context import get_config, get_store
    from graphkit.utils.config import get_config as legacy_config
    from graphkit.utils.config import get_store as legacy_store

    assert (legacy_config, legacy_store) == (get_config, get_store)


class Ctx(TypedDict):
    user: str


def test_langgraphs_renamed_builder_arguments_work_and_warn() -> None:
    from graphkit.runtime import Runtime
    from graphkit.types import RetryPolicy

    with pytest.warns(LangGraphDeprecatedSinceV10, match="`config_schema` is deprecated"):
        builder = StateGraph(Count, config_schema=Ctx)
    with pytest.warns(LangGraphDeprecatedSinceV05, match="Please use `output_schema`"):
        StateGraph(Count, output=Count)
    calls = []

    def node(state: Count, runtime: Runtime[Ctx]) -> dict[str, Any]:
        calls.append(runtime.context["user"])
        if len(calls) < 2:
            raise ConnectionError("flaky")
        return {"n": 1}

    with pytest.warns(LangGraphDeprecatedSinceV05, match="Please use `retry_policy`"):
        builder.add_node("a", node, retry=RetryPolicy(max_attempts=2, initial_interval=0))
    graph = builder.add_edge(START, "a").compile()
    assert graph.invoke({"n": 0}, context={"user": "ada"}) == {"n": 1}
    assert calls == ["ada", "ada"]
    with pytest.raises(InvalidCallError, match="'colour'"):
        StateGraph(Count, colour="red")


def test_checkpoint_during_is_durability_and_warns() -> None:
    builder = StateGraph(Count).add_node("a", lambda s: {"n": 1}).add_node("b", lambda s: {"n": 2})
    graph = builder.add_edge(START, "a").add_edge("a", "b").compile(checkpointer=InMemorySaver())
    for during, saved in ((True, 4), (False, 1)):  # each step, or only at the end
        config = {"configurable": {"thread_id": str(during)}}
        with pytest.warns(LangGraphDeprecatedSinceV10, match="Please use `durability`"):
            assert graph.invoke({"n": 0}, config, checkpoint_during=during) == {"n": 2}
        assert len(list(graph.get_state_history(config))) == saved
    with pytest.raises(InvalidCallError, match="both"), pytest.warns(LangGraphDeprecatedSinceV10):
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "x"}},
                     checkpoint_during=True, durability="sync")  # fmt: skip


def test_func_api_renamed_arguments_work_and_warn() -> None:
    from graphkit.func import entrypoint, task
    from graphkit.types import RetryPolicy

    attempts = []
    with pytest.warns(LangGraphDeprecatedSinceV05, match="`retry` is deprecated"):

        @task(retry=RetryPolicy(max_attempts=2, initial_interval=0))
        def flaky(x: int) -> int:
            attempts.append(x)
            if len(attempts) < 2:
                raise ConnectionError("once")
            return x * 2

    with pytest.warns(LangGraphDeprecatedSinceV10, match="`config_schema` is deprecated"):

        @entrypoint(config_schema=Ctx)
        def main(x: int) -> int:
            return flaky(x).result()

    assert main.invoke(3) == 6 and attempts == [3, 3]


def test_a_compiled_graph_has_langgraphs_aget_graph_and_context_schema() -> None:
    builder = StateGraph(Count, Ctx).add_node("a", lambda s: {"n": 1}).add_edge(START, "a")
    graph = builder.compile()
    assert graph.context_schema is Ctx
    drawn = asyncio.run(graph.aget_graph())
    assert drawn.to_json() == graph.get_graph().to_json()


class Pickled:
    """A serializer written for LangGraph: only dumps_typed / loads_typed."""

    def __init__(self) -> None:
        self.dumped = 0

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        import pickle

        self.dumped += 1
        return "pickle", pickle.dumps(obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        import pickle

        assert data[0] == "pickle"
        return pickle.loads(data[1])


class Log(TypedDict):
    log: Annotated[list[int], operator.add]
    n: int


@pytest.mark.parametrize("kind", ["memory", "lmdb"])
def test_a_saver_stores_with_a_serializer_written_for_langgraph(kind: str, tmp_path: Any) -> None:
    from graphkit.checkpoint.lmdb import LMDBSaver

    serde = Pickled()
    saver = InMemorySaver(serde=serde) if kind == "memory" else LMDBSaver(tmp_path, serde=serde)
    builder = StateGraph(Log).add_node("a", lambda s: {"log": [s["n"]], "n": s["n"] + 1})
    graph = builder.add_edge(START, "a").compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    for n in range(3):
        graph.invoke({"n": n, "log": []}, config)
    assert graph.get_state(config).values == {"log": [0, 1, 2], "n": 3}
    assert [s.values["log"] for s in graph.get_state_history(config)][:3] == [
        [0, 1, 2], [0, 1], [0, 1]
    ]  # fmt: skip
    assert serde.dumped > 0


def test_a_serializer_subclass_overriding_dumps_typed_is_called() -> None:
    class Faulty(JsonPlusSerializer):
        def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
            raise ValueError("Faulty serializer")

    graph = StateGraph(Count).add_node("a", lambda s: {"n": 1}).add_edge(START, "a")
    compiled = graph.compile(checkpointer=InMemorySaver(serde=Faulty()))
    with pytest.raises(ValueError, match="Faulty serializer"):
        compiled.invoke({"n": 0}, {"configurable": {"thread_id": "t"}})


def test_a_serde_that_is_neither_kind_is_refused() -> None:
    with pytest.raises(InvalidCallError, match="dumps_typed"):
        InMemorySaver(serde=object())  # type: ignore[arg-type]

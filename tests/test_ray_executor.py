"""RayExecutor against a real local Ray instance: same results as locally, retries,
dead workers, interrupts, streaming, clear errors for what cannot travel."""

from __future__ import annotations

import asyncio
import importlib.util
import operator
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest

ray = pytest.importorskip("ray")

from ray import cloudpickle  # noqa: E402

from graphkit import (  # noqa: E402
    END,
    START,
    Command,
    RetryPolicy,
    Send,
    StateGraph,
    entrypoint,
    get_config,
    get_store,
    get_stream_writer,
    interrupt,
    task,
)
from graphkit.checkpoint.memory import InMemorySaver  # noqa: E402
from graphkit.errors import (  # noqa: E402
    NodeTimeoutError,
    RemoteStoreError,
    UnshippableError,
    WorkerLostError,
)
from graphkit.executor import Executor, LocalExecutor, RayExecutor  # noqa: E402
from graphkit.managed import remaining_steps  # noqa: E402
from graphkit.runtime import Runtime  # noqa: E402
from graphkit.store.memory import InMemoryStore  # noqa: E402
from graphkit.stores.store.lmdb_store import LMDBStore  # noqa: E402

# Ray workers import functions by module name; this test module is not importable
# there, so its functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

NO_WAIT = RetryPolicy(initial_interval=0.01, jitter=False)


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    """One local Ray instance (2 CPUs, no dashboard) for the whole session."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


# a real Ray instance takes seconds to start: make test-slow (CI) runs this file
pytestmark = [pytest.mark.usefixtures("ray_instance"), pytest.mark.slow]


class Fan(TypedDict):
    items: list[int]
    out: Annotated[list[Any], operator.add]


def fan_out(state: Fan) -> list[Send]:
    return [Send("work", i) for i in state["items"]]


def square(x: int) -> dict[str, Any]:
    return {"out": [(x, x * x)]}


def fan_graph(work: Any, executor: Executor | None = None, **node: Any) -> Any:
    builder = StateGraph(Fan)
    builder.add_node("work", work, **node)
    builder.add_conditional_edges(START, fan_out)
    return builder.compile(executor=executor)


def test_executors_implement_the_protocol() -> None:
    assert isinstance(LocalExecutor(), Executor)
    assert isinstance(RayExecutor(), Executor)


def test_200_way_send_fan_out_gives_exactly_the_local_result() -> None:
    items = list(range(200))
    local = fan_graph(square).invoke({"items": items, "out": []})
    remote = fan_graph(square, RayExecutor()).invoke({"items": items, "out": []})
    assert remote == local
    assert remote["out"] == [(i, i * i) for i in items]  # Send order, not finishing order


def where(x: int) -> dict[str, Any]:
    return {"out": [(x, os.getpid())]}


def test_tasks_run_in_other_processes() -> None:
    out = fan_graph(where, RayExecutor()).invoke({"items": [1, 2, 3], "out": []})["out"]
    assert {pid for _, pid in out}.isdisjoint({os.getpid()})


def test_per_call_executor_in_config() -> None:
    graph = fan_graph(where)
    local = graph.invoke({"items": [1], "out": []})["out"]
    remote = graph.invoke({"items": [1], "out": []}, {"executor": RayExecutor()})["out"]
    assert local == [(1, os.getpid())]
    assert remote[0][1] != os.getpid()


class Two(TypedDict):
    light: int
    heavy: int


def test_only_the_chosen_nodes_run_on_ray() -> None:
    builder = StateGraph(Two)
    builder.add_node("light", lambda s: {"light": os.getpid()})
    builder.add_node("heavy", lambda s: {"heavy": os.getpid()})
    builder.add_edge(START, "light")
    builder.add_edge("light", "heavy")
    graph = builder.compile(executor=RayExecutor(nodes={"heavy"}))
    out = graph.invoke({"light": 0, "heavy": 0})
    assert out["light"] == os.getpid()
    assert out["heavy"] != os.getpid()


def flaky(x: int, runtime: Runtime) -> dict[str, Any]:
    attempt = runtime.execution_info.node_attempt
    if attempt < 3:
        raise ConnectionError(f"attempt {attempt} failed")
    return {"out": [(x, attempt)]}


def test_a_raising_task_is_retried_per_its_policy() -> None:
    graph = fan_graph(flaky, RayExecutor(), retry_policy=NO_WAIT)
    assert graph.invoke({"items": [7], "out": []})["out"] == [(7, 3)]


def picky(x: int) -> dict[str, Any]:
    raise ValueError(f"bad item {x}")


def test_the_remote_exception_keeps_its_type_and_says_where_it_ran() -> None:
    graph = fan_graph(picky, RayExecutor(), retry_policy=NO_WAIT)  # ValueError: not retried
    with pytest.raises(ValueError, match="bad item 4") as info:
        graph.invoke({"items": [4], "out": []})
    assert any("Raised on a Ray worker" in note for note in info.value.__notes__)


def die_once(marker: str) -> dict[str, Any]:
    path = Path(marker)
    if not path.exists():
        path.write_text("died")
        os.kill(os.getpid(), signal.SIGKILL)  # the worker process dies mid-task
    return {"out": [(marker, "survived")]}


class Marked(TypedDict):
    marker: str
    out: Annotated[list[Any], operator.add]


def marked_graph(retry: RetryPolicy | None) -> Any:
    builder = StateGraph(Marked)
    builder.add_node("risky", lambda s: die_once(s["marker"]), retry_policy=retry)
    builder.add_edge(START, "risky")
    return builder.compile(executor=RayExecutor())


def test_a_task_whose_worker_is_killed_is_retried_and_the_run_completes(tmp_path: Path) -> None:
    marker = str(tmp_path / "killed-once")
    out = marked_graph(NO_WAIT).invoke({"marker": marker, "out": []})
    assert out["out"] == [(marker, "survived")]
    assert Path(marker).read_text() == "died"


def test_a_killed_worker_without_a_retry_policy_fails_the_run_clearly(tmp_path: Path) -> None:
    marker = str(tmp_path / "killed")
    with pytest.raises(WorkerLostError, match="'risky' died"):
        marked_graph(None).invoke({"marker": marker, "out": []})


class Asked(TypedDict):
    question: str
    answer: str
    pid: int


def ask(state: Asked) -> dict[str, Any]:
    return {"answer": interrupt(state["question"]), "pid": os.getpid()}


def test_an_interrupt_inside_a_remote_node_pauses_and_resumes() -> None:
    builder = StateGraph(Asked)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver(), executor=RayExecutor())
    config = {"configurable": {"thread_id": "ray-interrupt"}}
    paused = graph.invoke({"question": "name?", "answer": "", "pid": 0}, config)
    assert [i.value for i in paused["__interrupt__"]] == ["name?"]
    assert graph.get_state(config).next == ("ask",)
    done = graph.invoke(Command(resume="Ada"), config)
    assert done["answer"] == "Ada"
    assert done["pid"] != os.getpid()


def chatty(x: int) -> dict[str, Any]:
    write = get_stream_writer()
    for step in range(10):
        write({"task": x, "step": step})
    return {"out": [x]}


def test_custom_stream_events_arrive_in_order_per_task() -> None:
    graph = fan_graph(chatty, RayExecutor())
    events = list(graph.stream({"items": list(range(6)), "out": []}, stream_mode="custom"))
    assert len(events) == 60
    for x in range(6):
        assert [e["step"] for e in events if e["task"] == x] == list(range(10))


def test_async_runs_await_remote_tasks() -> None:
    graph = fan_graph(chatty, RayExecutor())
    out = asyncio.run(graph.ainvoke({"items": [3, 1, 2], "out": []}))
    assert out["out"] == [3, 1, 2]


class Sleepy(TypedDict):
    seconds: float


async def sleeper(state: Sleepy) -> dict[str, Any]:
    await asyncio.sleep(state["seconds"])
    return {}


def test_a_timeout_stops_a_remote_attempt() -> None:
    builder = StateGraph(Sleepy)
    builder.add_node("sleeper", sleeper, timeout=0.5)
    builder.add_edge(START, "sleeper")
    graph = builder.compile(executor=RayExecutor())
    with pytest.raises(NodeTimeoutError):
        asyncio.run(graph.ainvoke({"seconds": 60.0}))


class Configured(TypedDict):
    seen: dict[str, Any]


def reads_config(state: Configured) -> dict[str, Any]:
    config = get_config()
    return {
        "seen": {
            "user": config["configurable"]["user"],
            "limit": config["recursion_limit"],
            "node": config["metadata"]["langgraph_node"],
            "steps_left": remaining_steps(),
        }
    }


def test_config_reaches_the_remote_node() -> None:
    builder = StateGraph(Configured)
    builder.add_node("reads", reads_config)
    builder.add_edge(START, "reads")
    builder.add_edge("reads", END)
    graph = builder.compile(executor=RayExecutor())
    out = graph.invoke({"seen": {}}, {"configurable": {"user": "u1"}, "recursion_limit": 7})
    assert out["seen"] == {"user": "u1", "limit": 7, "node": "reads", "steps_left": 6}


class Locked(TypedDict):
    lock: Any


def test_an_input_that_cannot_travel_names_the_node_and_the_value() -> None:
    builder = StateGraph(Locked)
    builder.add_node("uses_lock", lambda s: {})
    builder.add_edge(START, "uses_lock")
    graph = builder.compile(executor=RayExecutor())
    with pytest.raises(UnshippableError, match=r"Node 'uses_lock'.*input\['lock'\].*lock"):
        graph.invoke({"lock": threading.Lock()})


def test_a_function_capturing_what_cannot_travel_names_the_variable() -> None:
    guard = threading.Lock()

    def guarded(state: Locked) -> dict[str, Any]:
        with guard:
            return {}

    builder = StateGraph(Locked)
    builder.add_node("guarded", guarded)
    builder.add_edge(START, "guarded")
    graph = builder.compile(executor=RayExecutor())
    with pytest.raises(UnshippableError, match="captured variable 'guard'"):
        graph.invoke({"lock": None})


def reads_store(state: Configured) -> dict[str, Any]:
    item = get_store().get(("users",), "u1")
    return {"seen": {"item": item}}


@pytest.mark.parametrize("kind", ["memory", "lmdb"])
def test_an_in_process_store_used_remotely_is_a_clear_error(kind: str, tmp_path: Path) -> None:
    store: Any = InMemoryStore() if kind == "memory" else LMDBStore(tmp_path / "store")
    store.put(("users",), "u1", {"name": "Ada"})
    builder = StateGraph(Configured)
    builder.add_node("reads", reads_store)
    builder.add_edge(START, "reads")
    graph = builder.compile(store=store, executor=RayExecutor())
    with pytest.raises(RemoteStoreError, match=f"in-process {type(store).__name__}"):
        graph.invoke({"seen": {}})
    # kept local, the same node reads it
    local = builder.compile(store=store, executor=RayExecutor(nodes=()))
    assert local.invoke({"seen": {}})["seen"]["item"].value == {"name": "Ada"}


class DirectoryStore:
    """A store every process reaches (files in one directory): it travels as itself."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, value: str) -> None:
        (self.root / key).write_text(value)

    def get(self, key: str) -> str:
        return (self.root / key).read_text()


def writes_store(state: Configured) -> dict[str, Any]:
    get_store().put("greeting", f"hello from {os.getpid()}")
    return {}


def test_a_shared_store_travels_with_the_task(tmp_path: Path) -> None:
    store = DirectoryStore(tmp_path)
    builder = StateGraph(Configured)
    builder.add_node("writes", writes_store)
    builder.add_edge(START, "writes")
    builder.compile(store=store, executor=RayExecutor()).invoke({"seen": {}})
    written = store.get("greeting")
    assert written.startswith("hello from ") and written != f"hello from {os.getpid()}"


@task
def cube(x: int) -> tuple[int, int]:
    get_stream_writer()({"cubed": x})
    return x**3, os.getpid()


@entrypoint(executor=RayExecutor())
def cubes(numbers: list[int]) -> list[tuple[int, int]]:
    return [f.result() for f in [cube(n) for n in numbers]]


def test_functional_api_task_calls_run_on_ray() -> None:
    results = cubes.invoke([1, 2, 3])
    assert [value for value, _ in results] == [1, 8, 27]
    assert {pid for _, pid in results}.isdisjoint({os.getpid()})
    events = [e for _, e in cubes.stream([4, 5], stream_mode=["custom"])]
    assert {"cubed": 4} in events and {"cubed": 5} in events


def test_a_config_value_that_cannot_travel_is_named() -> None:
    graph = fan_graph(square, RayExecutor())
    config = {"configurable": {"client": threading.Lock()}}
    with pytest.raises(UnshippableError, match=r"config\['configurable'\]\['client'\]"):
        graph.invoke({"items": [1], "out": []}, config)


@task
def holds(lock: Any) -> int:
    return 1


@entrypoint(executor=RayExecutor())
def passes_a_lock(n: int) -> int:
    return holds(threading.Lock()).result()


def test_a_task_argument_that_cannot_travel_is_named() -> None:
    with pytest.raises(UnshippableError, match=r"Task 'holds'.*argument 0"):
        passes_a_lock.invoke(1)


def test_a_function_whose_module_the_workers_cannot_import_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "driver_only_nodes.py"
    path.write_text("def work(x):\n    return {'out': [x]}\n")
    spec = importlib.util.spec_from_file_location("driver_only_nodes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # importable here (so it travels by reference), not on the workers
    monkeypatch.setitem(sys.modules, "driver_only_nodes", module)
    graph = fan_graph(module.work, RayExecutor())
    with pytest.raises(UnshippableError, match="could not load 'work'.*driver_only_nodes"):
        graph.invoke({"items": [1], "out": []})

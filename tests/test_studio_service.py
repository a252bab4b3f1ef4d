"""graphkit.studio.service: what the studio page is told, on the in-memory and LMDB savers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import studio_graph
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit.checkpoint.lmdb import LMDBSaver
from graphkit.checkpoint.memory import InMemorySaver
from graphkit.studio import BadRequest, Conflict, NotFound, Studio, diff_values


@pytest.fixture(params=["memory", "lmdb"])
def studio(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Studio]:
    saver: Any = InMemorySaver() if request.param == "memory" else LMDBSaver(tmp_path / "ckpt")
    made = Studio(studio_graph.build(checkpointer=saver))
    yield made
    made.close()
    saver.close()


def run(studio: Studio, thread_id: str, input: Any) -> list[dict[str, Any]]:
    started = studio.start_run(thread_id, input)
    studio.wait(started.id, timeout=30)
    return studio.run(started.id).events


def status(studio: Studio, thread_id: str) -> str:
    rows = {t["thread_id"]: t for t in studio.threads()["threads"]}
    return str(rows[thread_id]["status"])


def test_a_run_streams_tasks_per_superstep_and_ends_paused_at_the_interrupt(studio: Studio) -> None:
    events = run(studio, "t1", {"topic": "cats"})
    names = [e["event"] for e in events]
    assert names[0] == "start" and names[-1] == "end"
    tasks = [(e["data"]["step"], e["data"]["node"]) for e in events if e["event"] == "task"]
    assert tasks == [
        (1, "plan"),
        (2, "research"),
        (1, "research:search"),
        (2, "research:summarize"),
        (3, "plan"),
        (4, "review"),
    ]
    end = events[-1]["data"]
    assert end["status"] == "paused"
    assert end["interrupts"][0]["value"]["question"] == "publish?"
    assert status(studio, "t1") == "paused"


def test_threads_report_done_paused_failed_and_filter_by_search(studio: Studio) -> None:
    run(studio, "alpha-done", {"topic": "x"})
    studio.wait(studio.resume("alpha-done", "ok").id, timeout=30)
    run(studio, "beta-paused", {"topic": "y"})
    failed = run(studio, "gamma-failed", {"topic": "boom"})
    assert failed[-1]["data"]["status"] == "failed"
    assert "the planner exploded" in failed[-1]["data"]["error"]
    assert status(studio, "alpha-done") == "done"
    assert status(studio, "beta-paused") == "paused"
    assert status(studio, "gamma-failed") == "failed"
    found = studio.threads(search="ALPHA")
    assert found["total"] == 1 and found["threads"][0]["thread_id"] == "alpha-done"
    page = studio.threads(offset=1, limit=1)
    assert page["total"] == 3 and len(page["threads"]) == 1


def test_history_pages_newest_first_without_gaps(studio: Studio) -> None:
    run(studio, "t", {"topic": "cats"})
    whole = studio.history("t", limit=200)["checkpoints"]
    first = studio.history("t", limit=3)
    assert first["more"] is True
    second = studio.history("t", before=first["checkpoints"][-1]["checkpoint_id"], limit=200)
    assert second["more"] is False
    ids = [c["checkpoint_id"] for c in first["checkpoints"] + second["checkpoints"]]
    assert ids == [c["checkpoint_id"] for c in whole]
    steps = [c["step"] for c in whole]
    assert steps == sorted(steps, reverse=True) and steps[-1] == -1
    assert first["latest_id"] == whole[0]["checkpoint_id"]
    assert [c["parent_id"] for c in whole[:-1]] == ids[1:]


def test_checkpoint_shows_what_ran_its_writes_and_the_diff_against_its_parent(
    studio: Studio,
) -> None:
    run(studio, "t", {"topic": "cats"})
    rows = studio.history("t")["checkpoints"]
    assert [c["ran"] for c in rows] == [["plan"], ["research"], ["plan"], ["__start__"], []]
    research = rows[1]
    detail = studio.checkpoint("t", research["checkpoint_id"])
    assert detail["ran"] == ["research"]
    # what the subgraph node wrote: its output (the checkpoint keeps it by reference)
    assert detail["writes"] == {"research": {"notes": ["found cats", "summary"], "topic": "cats"}}
    assert {"key": "notes", "change": "appended"}.items() <= detail["diff"][0].items()
    assert detail["diff"][0]["appended"] == ["found cats", "summary"]
    assert detail["values"]["notes"] == ["found cats", "summary"]
    latest = studio.checkpoint("t")
    assert latest["interrupts"][0]["value"]["notes"] == ["found cats", "summary"]
    assert latest["tasks"][0]["name"] == "review"


def test_resume_answers_the_interrupt_and_the_thread_is_done(studio: Studio) -> None:
    run(studio, "t", {"topic": "cats"})
    resumed = studio.resume("t", {"ok": True})
    studio.wait(resumed.id, timeout=30)
    assert studio.run(resumed.id).events[-1]["data"]["status"] == "done"
    assert studio.checkpoint("t")["values"]["verdict"] == "{'ok': True}"
    with pytest.raises(BadRequest, match="no pending interrupt"):
        studio.resume("t", "again")


def test_fork_edits_an_old_checkpoint_into_a_new_branch_and_runs_on(studio: Studio) -> None:
    run(studio, "t", {"topic": "cats"})
    before = studio.history("t")["checkpoints"]
    first_plan = next(c for c in before if c["step"] == 1)
    forked = studio.fork("t", first_plan["checkpoint_id"], {"topic": "dogs"})
    studio.wait(forked["run"], timeout=30)
    edit = studio.checkpoint("t", forked["checkpoint_id"])
    assert edit["parent_id"] == first_plan["checkpoint_id"]
    assert edit["source"] == "update"
    assert [d["key"] for d in edit["diff"]] == ["topic"]
    latest = studio.checkpoint("t")
    assert latest["interrupts"][0]["value"]["notes"] == ["found dogs", "summary"]
    after = studio.history("t")["checkpoints"]
    children = [c for c in after if c["parent_id"] == first_plan["checkpoint_id"]]
    assert len(children) == 2  # the original step and the fork: a tree


def test_a_refused_state_edit_changes_nothing(studio: Studio) -> None:
    run(studio, "t", {"topic": "cats"})
    before = studio.history("t")["checkpoints"]
    with pytest.raises(BadRequest, match="not in the state schema"):
        studio.fork("t", before[-1]["checkpoint_id"], {"no_such_key": 1})
    with pytest.raises(BadRequest, match="as_node"):
        studio.fork("t", before[-1]["checkpoint_id"], {"topic": "x"}, as_node="nope")
    with pytest.raises(BadRequest, match="JSON object"):
        studio.fork("t", before[-1]["checkpoint_id"], [1, 2])
    assert studio.history("t")["checkpoints"] == before


def test_unknown_threads_checkpoints_and_runs_are_not_found(studio: Studio) -> None:
    with pytest.raises(NotFound, match="no thread 'ghost'"):
        studio.history("ghost")
    run(studio, "t", {"topic": "cats"})
    with pytest.raises(NotFound, match="has no checkpoint"):
        studio.fork("t", "01a21544-72f3-759d-adb0-843f126c38bb", {"topic": "x"})
    with pytest.raises(BadRequest, match="not a checkpoint id"):
        studio.checkpoint("t", "../../etc/passwd")
    with pytest.raises(NotFound, match="no run"):
        studio.run("nope")


def test_bad_run_input_is_refused_before_anything_runs(studio: Studio) -> None:
    with pytest.raises(BadRequest, match="JSON object"):
        studio.start_run("t", [1, 2, 3])
    with pytest.raises(BadRequest, match="thread_id"):
        studio.start_run("", {})
    assert studio.threads()["total"] == 0


def test_a_busy_thread_refuses_a_second_run(studio: Studio) -> None:
    started = studio.start_run("t", {"topic": "cats"})
    try:
        while not started.done:
            try:
                studio.start_run("t", {"topic": "again"})
            except Conflict:
                break
    finally:
        studio.wait(started.id, timeout=30)


def test_store_namespaces_and_semantic_search_with_scores(studio: Studio) -> None:
    assert studio.namespaces()["namespaces"] == [["memories", "alice"], ["memories", "bob"]]
    listed = studio.items(["memories", "alice"])["items"]
    assert sorted(i["key"] for i in listed) == ["food", "pet"]
    ranked = studio.items(["memories"], query="pizza")["items"]
    assert ranked[0]["value"] == {"text": "Alice likes pizza"}
    scores = [i["score"] for i in ranked]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]
    with pytest.raises(BadRequest, match="non-empty strings"):
        studio.items(["memories", ""])


def test_info_carries_the_layout_and_node_names(studio: Studio) -> None:
    info = studio.info()
    ids = {n["id"] for n in info["layout"]["nodes"]}
    assert {"plan", "review", "research:search", "research:summarize"} <= ids
    assert [c["id"] for c in info["layout"]["clusters"]] == ["research"]
    assert info["nodes"] == ["plan", "research", "review"]
    assert info["search"] is True


def test_a_graph_without_a_saver_gets_an_in_memory_one() -> None:
    from typing import TypedDict

    from graphkit import START, StateGraph

    class S(TypedDict):
        n: int

    graph = StateGraph(S).add_node("inc", lambda s: {"n": s["n"] + 1}).add_edge(START, "inc")
    studio = Studio(graph.compile())
    studio.wait(studio.start_run("t", {"n": 1}).id, timeout=30)
    assert studio.checkpoint("t")["values"] == {"n": 2}
    assert studio.namespaces() == {"namespaces": [], "store": None}
    with pytest.raises(NotFound, match="no memory store"):
        studio.items([])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)
states = st.dictionaries(st.text(max_size=4), json_values, max_size=5)


@settings(max_examples=examples(30))
@given(states, states)
def test_diff_values_rebuilds_the_new_state_from_the_old(
    before: dict[str, Any], after: dict[str, Any]
) -> None:
    rebuilt = dict(before)
    for change in diff_values(before, after):
        if change["change"] == "removed":
            del rebuilt[change["key"]]
        elif change["change"] == "appended":
            rebuilt[change["key"]] = rebuilt[change["key"]] + change["appended"]
        else:
            rebuilt[change["key"]] = change["after"]
    assert rebuilt == after
    assert (diff_values(before, after) == []) == (before == after)


def test_only_the_newest_finished_runs_are_kept(
    studio: Studio, monkeypatch: pytest.MonkeyPatch
) -> None:
    import graphkit.studio.service as service

    monkeypatch.setattr(service, "KEEP_RUNS", 2)
    ids = []
    for n in range(4):
        started = studio.start_run(f"t{n}", {"topic": "x"})
        studio.wait(started.id, timeout=30)
        ids.append(started.id)
    with pytest.raises(NotFound):
        studio.run(ids[0])
    assert studio.run(ids[-1]).done and studio.run(ids[-2]).done


def test_several_pending_interrupts_are_answered_one_by_one() -> None:
    from typing import TypedDict

    from graphkit import START, StateGraph, interrupt

    class S(TypedDict, total=False):
        a: str
        b: str

    builder = StateGraph(S)
    builder.add_node("ask_a", lambda s: {"a": interrupt("a?")})
    builder.add_node("ask_b", lambda s: {"b": interrupt("b?")})
    builder.add_edge(START, "ask_a").add_edge(START, "ask_b")
    studio = Studio(builder.compile(checkpointer=InMemorySaver()))
    studio.wait(studio.start_run("t", {}).id, timeout=30)
    pending = {i["value"]: i["id"] for i in studio.checkpoint("t")["interrupts"]}
    assert set(pending) == {"a?", "b?"}
    with pytest.raises(BadRequest, match="no pending interrupt 'nope'"):
        studio.resume("t", "x", interrupt_id="nope")
    studio.wait(studio.resume("t", "A", interrupt_id=pending["a?"]).id, timeout=30)
    left = studio.checkpoint("t")["interrupts"]
    assert [i["value"] for i in left] == ["b?"]
    latest_id = studio.history("t")["latest_id"]  # by id too: the page asks that way
    assert studio.checkpoint("t", latest_id)["interrupts"] == left
    studio.wait(studio.resume("t", "B", interrupt_id=left[0]["id"]).id, timeout=30)
    done = studio.checkpoint("t")
    assert done["values"] == {"a": "A", "b": "B"}
    assert sorted(done["ran"]) == ["ask_a", "ask_b"]
    # ask_a finished while the step was still paused: the saver kept its writes
    assert done["writes"]["ask_a"] == {"a": "A"}
    first = studio.history("t")["checkpoints"][-1]
    assert studio.checkpoint("t", first["checkpoint_id"])["writes"] == {"__start__": {}}


def test_a_chat_models_tokens_stream_as_message_events() -> None:
    from graphkit import START, MessagesState, StateGraph
    from graphkit.models.fake import FakeChatModel

    model = FakeChatModel(responses=["Hello there friend"])
    builder = StateGraph(MessagesState)
    builder.add_node("chat", lambda s: {"messages": [model.invoke(s["messages"])]})
    builder.add_edge(START, "chat")
    studio = Studio(builder.compile(checkpointer=InMemorySaver()))
    started = studio.start_run("t", {"messages": [{"role": "user", "content": "hi"}]})
    studio.wait(started.id, timeout=30)
    tokens = [e["data"] for e in studio.run(started.id).events if e["event"] == "message"]
    assert "".join(t["text"] for t in tokens) == "Hello there friend"
    assert len(tokens) > 1 and {t["node"] for t in tokens} == {"chat"}
    assert len({t["id"] for t in tokens}) == 1

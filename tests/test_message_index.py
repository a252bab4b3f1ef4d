"""add_messages remembers the id index of histories it returned; answers never change.

The reference below is the plain definition (rebuild everything each call); the
property runs random chains of appends, replacements, removals and branches from
older lists through the real reducer and compares each result with it.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from graphkit import _message_index
from graphkit.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    RemoveMessage,
    add_messages,
)


def reference(left: list[BaseMessage], right: list[BaseMessage]) -> list[tuple[str, str]]:
    merged: dict[str, str] = {m.id: m.text for m in left if m.id is not None}
    for m in right:
        assert m.id is not None
        if isinstance(m, RemoveMessage):
            del merged[m.id]
        else:
            merged[m.id] = m.text
    return list(merged.items())


def pairs(messages: list[BaseMessage]) -> list[tuple[str, str]]:
    return [(m.id or "", m.text) for m in messages]


op = st.tuples(
    st.sampled_from(["append", "replace", "remove", "branch"]),
    st.integers(min_value=0, max_value=10_000),
)


@settings(max_examples=examples(150))
@given(st.lists(op, min_size=1, max_size=40))
def test_chains_of_steps_equal_the_rebuild_everything_reference(ops: list[tuple[str, int]]) -> None:
    history: list[BaseMessage] = [HumanMessage("start", id="m0")]
    older: list[list[BaseMessage]] = [history]
    fresh = 1
    for kind, n in ops:
        if kind == "branch":  # go on from an older list: the index is shared with it
            history = older[n % len(older)]
            continue
        if kind == "append" or len(history) == 0:
            right: list[BaseMessage] = [AIMessage(f"t{fresh}", id=f"m{fresh}")]
            fresh += 1
        elif kind == "replace":
            right = [AIMessage(f"r{n}", id=history[n % len(history)].id)]
        else:
            right = [RemoveMessage(id=history[n % len(history)].id or "")]
        expected = reference(history, right)
        history = add_messages(history, right)
        assert pairs(history) == expected
        older.append(history)
    for old in older:  # every list still answers for itself
        probe = AIMessage("p", id=old[0].id) if old else AIMessage("p", id="new")
        assert pairs(add_messages(old, [probe])) == reference(old, [probe])


def test_two_branches_appending_different_messages_to_one_list() -> None:
    base = add_messages([], [HumanMessage("a", id="a")])
    left = add_messages(base, [AIMessage("x", id="x")])
    right = add_messages(base, [AIMessage("y", id="y"), AIMessage("x2", id="x")])
    assert [m.id for m in left] == ["a", "x"]
    assert [m.id for m in right] == ["a", "y", "x"]
    # "x" is at position 1 in `left` and 2 in `right`: each still finds its own.
    assert [m.text for m in add_messages(left, [AIMessage("X", id="x")])] == ["a", "X"]
    assert [m.text for m in add_messages(right, [AIMessage("X", id="x")])] == ["a", "y", "X"]


def test_an_appending_step_reuses_the_index_of_the_previous_result() -> None:
    history = add_messages([], [HumanMessage(str(i), id=str(i)) for i in range(1000)])
    index = _message_index.lookup(history)
    assert index is not None
    longer = add_messages(history, [AIMessage("new", id="new")])
    assert _message_index.lookup(longer) is index
    assert longer[:1000] == history and longer[-1].id == "new"


def test_a_list_mutated_in_place_is_still_merged_correctly() -> None:
    history = add_messages([], [HumanMessage("a", id="a")])
    history.append(AIMessage("b", id="b"))  # not through the reducer
    merged = add_messages(history, [AIMessage("B", id="b")])
    assert [(m.id, m.text) for m in merged] == [("a", "a"), ("b", "B")]


def test_extends_knows_appends_and_nothing_else() -> None:
    base = add_messages([], [HumanMessage("a", id="a")])
    one = add_messages(base, [AIMessage("b", id="b")])
    two = add_messages(one, [AIMessage("c", id="c")])
    replaced = add_messages(two, [AIMessage("B", id="b")])
    branch = add_messages(base, [AIMessage("x", id="x")])
    assert _message_index.extends(one, base)
    assert _message_index.extends(two, base)  # through the chain
    assert not _message_index.extends(replaced, two)  # a replacement is not an append
    assert not _message_index.extends(branch, one)  # a sibling, not a descendant
    assert not _message_index.extends(base, two)
    assert not _message_index.extends([*two], base)  # a copy add_messages never made


def test_a_long_checkpointed_conversation_reads_back_whole() -> None:
    """Checkpoints store an appended suffix when extends() (or a scan) proves the append."""
    from graphkit import END, START, MessagesState, StateGraph
    from graphkit.checkpoint.memory import InMemorySaver

    builder = StateGraph(MessagesState)
    builder.add_node("reply", lambda s: {"messages": [AIMessage(f"re {len(s['messages'])}")]})
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    for turn in range(30):
        graph.invoke({"messages": [HumanMessage(f"turn {turn}", id=f"h{turn}")]}, config)
    graph.update_state(config, {"messages": [AIMessage("edited", id="h3")]})
    texts = [m.text for m in graph.get_state(config).values["messages"]]
    expected = [text for t in range(30) for text in (f"turn {t}", f"re {2 * t + 1}")]
    expected[6] = "edited"  # "turn 3" (id h3) was replaced
    assert texts == expected


many = st.lists(
    st.tuples(
        st.sampled_from(["human", "ai", "chunk", "remove", "noid"]),
        st.integers(min_value=0, max_value=4),
    ),
    min_size=1,
    max_size=5,
)


def _right(rows: list[tuple[str, int]], history: list[BaseMessage]) -> list[BaseMessage]:
    right: list[BaseMessage] = []
    for kind, n in rows:
        mid = f"m{n}"
        if kind == "human":
            right.append(HumanMessage(f"h{n}", id=mid))
        elif kind == "ai":
            right.append(AIMessage(f"a{n}", id=mid))
        elif kind == "chunk":
            right.append(AIMessageChunk(f"c{n}", id=mid))
        elif kind == "noid":
            right.append(HumanMessage(f"n{n}"))
        elif history:
            right.append(RemoveMessage(id=history[n % len(history)].id or ""))
    present = {m.id for m in history}
    wanted = [m for m in right if not isinstance(m, RemoveMessage) or m.id in present]
    return wanted if not any(isinstance(m, RemoveMessage) for m in wanted) else wanted[:1]


@settings(max_examples=examples(150))
@given(st.lists(st.tuples(many, st.integers(min_value=0, max_value=50)), min_size=1, max_size=12))
def test_steps_of_several_messages_equal_the_reference(
    steps: list[tuple[list[tuple[str, int]], int]],
) -> None:
    """Several messages at once (repeated ids, chunks, messages without ids, removals),
    on histories the reducer made and on copies it did not: the same as the reference."""
    history: list[BaseMessage] = []
    older: list[list[BaseMessage]] = [history]
    for rows, pick in steps:
        if pick % 4 == 0:  # continue from an older list, or from a copy of one
            base = older[pick % len(older)]
            history = base if pick % 8 else list(base)
        right = _right(rows, history)
        merged = add_messages(history, right)  # gives messages without an id one, in place
        assert pairs(merged) == reference(history, right)
        history = merged
        older.append(history)


def test_a_long_plain_history_is_taken_as_it_is_and_indexed() -> None:
    history = [HumanMessage(str(i), id=f"h{i}") for i in range(500)]
    merged = add_messages([], history)
    assert merged == history and merged is not history
    index = _message_index.lookup(merged)
    assert index is not None and index.position(merged, "h499") == 499
    again = add_messages(merged, [HumanMessage("x", id="h3"), AIMessage("y", id="new")])
    assert [m.text for m in again[2:5]] == ["2", "x", "4"] and again[-1].id == "new"


def test_grow_indexes_coerced_histories_only() -> None:
    history: list[BaseMessage] = [HumanMessage(str(i), id=f"h{i}") for i in range(5)]
    index = _message_index.grow(None, history, 0)
    assert index is not None and index.position(history, "h4") == 4
    history.append(AIMessage("a", id="a"))
    assert _message_index.grow(index, history, 5) is index
    assert index.position(history, "a") == 5
    assert _message_index.grow(None, [*history, AIMessageChunk("c", id="c")], 0) is None
    assert _message_index.grow(None, [*history, HumanMessage("x", id="h0")], 0) is None
    assert _message_index.grow(index, [*history, HumanMessage("x", id="h0")], 6) is None
    assert _message_index.grow(None, [HumanMessage("no id")], 0) is None
    assert _message_index.grow(None, ["not a message"], 0) is None
    # an entry another list of the chain wrote at another position: rebuilt, still right
    other = [*history[:3], AIMessage("b", id="b")]
    add_messages(add_messages([], other), [AIMessage("z", id="z")])
    index.positions["z"] = 99
    grown = _message_index.grow(index, [*history, AIMessage("z", id="z")], 6)
    assert grown is not None and grown.position([*history, AIMessage("z", id="z")], "z") == 6


def test_lists_nothing_else_holds_are_forgotten() -> None:
    """The registry holds each list it indexes (so that an id stays its own) but lets
    go of those nobody else holds: a loop of appends, or of reads of a saved thread,
    keeps a handful of entries, not one per call (each a history's worth of memory)."""
    import gc

    from graphkit import START, MessagesState, StateGraph
    from graphkit.checkpoint.memory import InMemorySaver

    history = add_messages([], [HumanMessage(str(i), id=f"h{i}") for i in range(100)])
    for n in range(300):
        history = add_messages(history, [AIMessage("a", id=f"a{n}")])
    assert len(_message_index._known) <= 2 * _message_index._SWEEP
    kept = [add_messages(history, [AIMessage("x", id=f"x{n}")]) for n in range(20)]
    for n in range(50):  # lists still held are never forgotten while few
        add_messages([], [HumanMessage("y", id=f"y{n}")])
    assert all(_message_index.lookup(one) is not None for one in kept)

    builder = StateGraph(MessagesState)
    builder.add_node("reply", lambda s: {"messages": [AIMessage("ok")]})
    builder.add_edge(START, "reply")
    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    before = len(_message_index._known)
    for n in range(100):
        graph.invoke({"messages": [HumanMessage(f"turn {n}", id=f"t{n}")]}, config)
        graph.get_state(config)
        gc.collect()  # a finished run is freed by the cycle collector
    assert len(_message_index._known) <= before + 2 * _message_index._SWEEP


def test_extends_sees_through_lists_forgotten_in_between() -> None:
    base = add_messages([], [HumanMessage("a", id="a")])
    tip = add_messages(add_messages(base, [AIMessage("b", id="b")]), [AIMessage("c", id="c")])
    for n in range(10):  # the middle list is held by nobody: swept
        add_messages([], [HumanMessage("z", id=f"z{n}")])
    assert _message_index.extends(tip, base)


def test_a_plain_history_with_repeated_or_missing_ids_is_merged_by_id() -> None:
    """A history handed in whole is indexed in one pass; one that repeats an id or has
    a message without one takes the general merge (later replaces, ids given)."""
    repeated = [HumanMessage("a", id="x"), HumanMessage("b", id="y"), AIMessage("c", id="x")]
    assert pairs(add_messages([], repeated)) == [("x", "c"), ("y", "b")]
    unnamed = [HumanMessage("a", id="x"), HumanMessage("b")]
    merged = add_messages([], unnamed)
    assert [m.text for m in merged] == ["a", "b"] and merged[1].id
    assert len({m.id for m in merged}) == 2


def test_a_plain_list_the_reducer_did_not_make_is_indexed_in_one_pass() -> None:
    left = [HumanMessage(str(i), id=f"h{i}") for i in range(1_500)]  # not add_messages' own
    merged = add_messages(left, [HumanMessage("new", id="h7"), AIMessage("z", id="z")])
    assert merged[7].text == "new" and merged[-1].id == "z" and len(merged) == 1_501
    assert left[7].text == "7"  # not changed in place
    twice = [*left[:3], HumanMessage("again", id="h1")]  # an id twice: kept as it is
    assert pairs(add_messages(twice, [AIMessage("z", id="z")])) == [
        ("h0", "0"),
        ("h1", "1"),
        ("h2", "2"),
        ("h1", "again"),
        ("z", "z"),
    ]


caller_op = st.tuples(
    st.sampled_from(["same", "append", "replace", "repeat", "equal copy", "write", "new list"]),
    st.integers(min_value=0, max_value=10_000),
)


@settings(max_examples=examples(150))
@given(st.lists(caller_op, min_size=1, max_size=30))
def test_a_callers_list_handed_in_again_merges_as_the_reference(
    ops: list[tuple[str, int]],
) -> None:
    """A caller hands its own list to runs again and again (a run without a
    checkpointer takes the whole history), changing it in between: its index is reused
    only while it holds the same messages (and more after them); every merge onto it
    equals the reference."""
    given_list: list[BaseMessage] = [HumanMessage(str(i), id=f"h{i}") for i in range(8)]
    for step, (kind, pick) in enumerate(ops):
        if kind == "append":
            given_list.append(AIMessage(f"a{step}", id=f"a{step}"))
        elif kind == "replace":
            given_list[pick % len(given_list)] = HumanMessage(f"r{step}", id=f"r{step}")
        elif kind == "repeat":  # an id the list has: the general merge takes it
            given_list.append(HumanMessage(f"again{step}", id=given_list[pick % 8].id))
        elif kind == "new list":  # the same messages (and one more) in a new list
            given_list = [*given_list, HumanMessage(f"n{step}", id=f"n{step}")]
        elif kind == "equal copy":
            at = pick % len(given_list)
            given_list[at] = given_list[at].model_copy()
        history = add_messages([], given_list)
        assert pairs(history) == reference([], given_list)
        write = [AIMessage(f"w{step}", id=f"w{step}"), HumanMessage("x", id=given_list[0].id)]
        if kind == "write":
            write.append(AIMessage("old", id=f"a{pick % (step + 1)}"))
        assert pairs(add_messages(history, write)) == reference(history, write)


def test_a_callers_list_handed_in_again_is_not_indexed_again() -> None:
    calls: list[int] = []
    messages_module = __import__("graphkit.messages", fromlist=["_plain_index"])
    real = messages_module._plain_index

    def counting(value: object) -> object:
        calls.append(1)
        return real(value)

    history = [HumanMessage(str(i), id=f"h{i}") for i in range(100)]
    messages_module._plain_index = counting
    try:
        first = add_messages([], history)
        again = add_messages([], history)
        history.append(AIMessage("more", id="more"))
        longer = add_messages([], history)
        history[5] = HumanMessage("changed", id="c5")
        changed = add_messages([], history)
        other = add_messages([], [*history, HumanMessage("q", id="q")])  # a new list
    finally:
        messages_module._plain_index = real
    assert len(calls) == 2  # the first time, and after a message was replaced
    assert [m.id for m in other] == [*(m.id for m in history), "q"]
    assert first == again and first is not again and first is not history
    assert len(longer) == 101 and changed[5].id == "c5"
    index = _message_index.lookup(changed)
    assert index is not None and index.position(changed, "h5") is None
    assert index.position(changed, "c5") == 5 and index.position(changed, "more") == 100


def test_input_lists_nobody_holds_are_forgotten() -> None:
    for n in range(20):
        add_messages([], [HumanMessage(str(i), id=f"g{n}-{i}") for i in range(10)])
    add_messages([], [HumanMessage("x", id="x")])
    assert len(_message_index._given) <= 1

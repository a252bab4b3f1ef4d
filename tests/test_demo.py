"""The cross-thread memory chatbot demo, offline: Bob is remembered across threads and processes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from graphkit import demo
from graphkit.messages import HumanMessage, SystemMessage

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key: the demo must use its labelled offline model."""
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def _run(data_dir: Path) -> str:
    out = io.StringIO()
    assert demo.main(data_dir, out=out) == 0
    return out.getvalue()


def _turns(text: str) -> list[str]:
    """The printed turns, each up to the blank line that ends it."""
    return [part.split("\n\n")[0] for part in text.split("── thread ")[1:]]


def test_user_one_is_remembered_across_threads_and_user_two_is_not(tmp_path: Path) -> None:
    text = _run(tmp_path)
    assert "OFFLINE demo model" in text
    first, second, third = _turns(text)
    assert first.startswith("1 · user 1")
    assert "Hi! Remember: my name is Bob" in first
    assert second.startswith("2 · user 1")
    assert "memory:    'Username is Bob' (score " in second
    assert "assistant: Your name is Bob." in second
    assert third.startswith("3 · user 2")
    assert "none found under ('memories', '2')" in third
    assert "Bob" not in third
    assert 'digraph "LangGraph"' in text
    assert str(tmp_path.resolve()) in text


def test_memory_is_stored_once_under_the_user_namespace(tmp_path: Path) -> None:
    _run(tmp_path)
    _run(tmp_path)
    opened = demo.Demo.open(tmp_path)
    try:
        items = opened.store.search(("memories",), limit=10)
        assert [(i.namespace, i.value) for i in items] == [
            (("memories", "1"), {"data": "Username is Bob"})
        ]
        hits = opened.store.search(("memories", "1"), query="what is my name?")
        assert hits and hits[0].score is not None and hits[0].score > 0
        thread = opened.saver.get_tuple({"configurable": {"thread_id": "1"}})
        assert thread is not None
        assert len(thread.checkpoint["channel_values"]["messages"]) == 4  # two runs, 2 each
    finally:
        opened.close()


def test_second_process_still_finds_bob(tmp_path: Path) -> None:
    _run(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.run(
        [sys.executable, "-m", "graphkit", "demo", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    second = _turns(proc.stdout)[1]
    assert "'Username is Bob'" in second
    assert "Your name is Bob." in second
    assert "(4 messages in this thread so far)" in second  # the first run's turn was loaded


def test_offline_model_answers_only_from_its_system_prompt() -> None:
    model = demo.OfflineModel()
    ask = HumanMessage(content="what is my name?")
    with_memory = SystemMessage(content=demo.SYSTEM_PROMPT.format(memories="- Username is Bob"))
    without = SystemMessage(content=demo.SYSTEM_PROMPT.format(memories="(nothing yet)"))
    assert model.invoke([with_memory, ask]).text == "Your name is Bob."
    assert "don't know" in model.invoke([without, ask]).text


def test_memory_keys_are_deterministic() -> None:
    assert demo.memory_key("Username is Bob") == demo.memory_key("username is bob")
    assert demo.memory_from("Hi! Remember: my name is Bob") == "Username is Bob"
    assert demo.memory_from("what is my name?") is None


def test_a_key_selects_the_real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")
    model, label = demo.choose_model()
    assert type(model).__name__ == "ChatAnthropic"
    assert "Anthropic" in label
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    model, label = demo.choose_model()
    assert type(model).__name__ == "ChatOpenAI"

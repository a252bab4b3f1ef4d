"""graphkit._gc.paused: the collector is off inside, back on after, only if it was on."""

from __future__ import annotations

import gc
import threading

import pytest

from graphkit import _gc


@pytest.fixture(autouse=True)
def _collector_on() -> None:
    assert gc.isenabled()


def test_paused_turns_the_collector_off_and_back_on() -> None:
    with _gc.paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_nested_pauses_turn_it_back_on_when_the_outermost_ends() -> None:
    with _gc.paused():
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_an_error_inside_still_turns_it_back_on() -> None:
    with pytest.raises(KeyError), _gc.paused():
        raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with _gc.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_pauses_in_two_threads_leave_it_on_once_both_end() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with _gc.paused():
            inside.set()
            leave.wait(5)

    thread = threading.Thread(target=other)
    with _gc.paused():
        thread.start()
        assert inside.wait(5)
    assert not gc.isenabled()  # the other thread is still inside
    leave.set()
    thread.join(5)
    assert gc.isenabled()


def test_call_pauses_only_large_work_and_returns_its_result() -> None:
    assert _gc.call(False, gc.isenabled) is True
    assert _gc.call(True, gc.isenabled) is False
    assert gc.isenabled()
    assert _gc.call(True, divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        _gc.call(True, divmod, 1, 0)
    assert gc.isenabled()

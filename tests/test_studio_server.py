"""graphkit.studio.server: a real server on an ephemeral port, driven with urllib."""

from __future__ import annotations

import http.client
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import studio_graph

from graphkit.studio import MAX_BODY, Studio, StudioServer


@pytest.fixture
def server() -> Iterator[StudioServer]:
    made = StudioServer(Studio(studio_graph.build()), keepalive=0.2)
    worker = threading.Thread(target=made.serve_forever, args=(0.05,), daemon=True)
    worker.start()
    yield made
    made.shutdown()
    made.server_close()
    made.studio.close()
    worker.join(5)


def request(
    server: StudioServer,
    path: str,
    *,
    body: bytes | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    token: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one request; the token goes in the header unless not."""
    sent = dict(headers or {})
    if token:
        sent.setdefault("X-Graphkit-Token", server.token)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method or ("POST" if body is not None else "GET"), path, body, sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def get_json(server: StudioServer, path: str) -> Any:
    status, _, body = request(server, path)
    assert status == 200, body
    return json.loads(body)


def post_json(server: StudioServer, path: str, data: Any) -> tuple[int, Any]:
    status, _, body = request(
        server, path, body=json.dumps(data).encode(), headers={"Content-Type": "application/json"}
    )
    return status, json.loads(body)


def sse(server: StudioServer, run_id: str, last: str | None = None) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a run's event stream, read to its end."""
    headers = {"X-Graphkit-Token": server.token} | ({"Last-Event-ID": last} if last else {})
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/runs/{run_id}/events", headers=headers
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        text = response.read().decode()
    out = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if not line.startswith(":")
        )
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_the_page_and_its_files_are_served_with_the_token_and_a_strict_policy(
    server: StudioServer,
) -> None:
    status, headers, body = request(server, f"/?token={server.token}", token=False)
    assert status == 200
    assert f'content="{server.token}"' in body.decode()
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    for name, kind in (("studio.js", "text/javascript"), ("studio.css", "text/css")):
        status, headers, body = request(server, f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
    assert server.url == f"http://127.0.0.1:{server.port}/?token={server.token}"


def test_every_request_without_the_token_is_refused(server: StudioServer) -> None:
    for path in ("/", "/static/studio.js", "/api/info", "/api/threads", "/api/store/namespaces"):
        status, _, body = request(server, path, token=False)
        assert status == 401, path
        assert b"token" in body
    status, _, _ = request(server, "/api/info", headers={"X-Graphkit-Token": "wrong"})
    assert status == 401


def test_the_cookie_set_by_the_page_opens_reads_but_not_writes(server: StudioServer) -> None:
    cookie = {"Cookie": f"{server.cookie}={server.token}"}
    status, _, _ = request(server, "/api/info", headers=cookie, token=False)
    assert status == 200
    status, _, body = request(
        server,
        "/api/runs",
        body=b'{"thread_id": "t", "input": {}}',
        headers=cookie | {"Content-Type": "application/json"},
        token=False,
    )
    assert status == 403 and b"X-Graphkit-Token" in body
    assert server.studio.threads()["total"] == 0


def test_a_foreign_host_header_is_refused_against_dns_rebinding(server: StudioServer) -> None:
    status, _, body = request(server, "/api/info", headers={"Host": f"evil.example:{server.port}"})
    assert status == 403 and b"Host" in body
    status, _, _ = request(server, "/api/info", headers={"Host": f"localhost:{server.port}"})
    assert status == 200


def test_a_cross_origin_write_is_refused_even_with_the_token(server: StudioServer) -> None:
    status, _, body = request(
        server,
        "/api/runs",
        body=b'{"thread_id": "t", "input": {}}',
        headers={"Content-Type": "application/json", "Origin": "http://evil.example"},
    )
    assert status == 403 and b"cross-origin" in body
    same = {"Content-Type": "application/json", "Origin": f"http://127.0.0.1:{server.port}"}
    status, _, body = request(
        server, "/api/runs", body=b'{"thread_id": "t", "input": {"topic": "x"}}', headers=same
    )
    assert status == 200
    server.studio.wait(json.loads(body)["run_id"], timeout=30)


def test_bodies_are_bounded_and_must_be_json(server: StudioServer) -> None:
    # refused from its Content-Length, before a byte of it is read
    status, _, body = request(
        server,
        "/api/runs",
        body=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(MAX_BODY + 1)},
    )
    assert status == 413 and b"larger than" in body
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.putrequest("POST", "/api/runs")
    conn.putheader("X-Graphkit-Token", server.token)
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    assert conn.getresponse().status == 411  # no length, no read
    conn.close()
    status, _, body = request(
        server, "/api/runs", body=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and b"not valid JSON" in body
    status, _, body = request(
        server, "/api/runs", body=b"thread_id=t", headers={"Content-Type": "text/plain"}
    )
    assert status == 400 and b"application/json" in body
    status, body_json = post_json(server, "/api/runs", [1, 2])
    assert status == 400 and "JSON object" in body_json["error"]
    assert server.studio.threads()["total"] == 0


def test_unknown_paths_and_methods_get_clear_errors(server: StudioServer) -> None:
    for path in ("/static/../service.py", "/static/server.py", "/nope", "/api/nope"):
        status, _, _ = request(server, path)
        assert status == 404, path
    status, _, body = request(server, "/api/threads/ghost/history")
    assert status == 404 and b"no thread 'ghost'" in body
    status, _, _ = request(server, "/api/info", method="DELETE")
    assert status == 405
    status, _, body = request(server, "/api/threads?limit=many")
    assert status == 400 and b"limit must be an integer" in body


def test_run_then_stream_its_events_then_resume_then_fork(server: StudioServer) -> None:
    status, started = post_json(
        server, "/api/runs", {"thread_id": "t 1/x", "input": {"topic": "cats"}}
    )
    assert status == 200
    events = sse(server, started["run_id"])
    assert events[0][0] == "start" and events[-1][0] == "end"
    assert ("task", {"node": "research:search", "step": 1}) in events
    assert events[-1][1]["status"] == "paused"
    replay = sse(server, started["run_id"], last="2")
    assert replay == events[3:]

    threads = get_json(server, "/api/threads")["threads"]
    assert [(t["thread_id"], t["status"]) for t in threads] == [("t 1/x", "paused")]
    history = get_json(server, "/api/threads/t%201%2Fx/history?limit=2")
    assert history["more"] is True and len(history["checkpoints"]) == 2

    status, resumed = post_json(server, "/api/threads/t%201%2Fx/resume", {"value": "ship it"})
    assert status == 200
    assert sse(server, resumed["run_id"])[-1][1]["status"] == "done"
    assert get_json(server, "/api/threads/t%201%2Fx/state")["values"]["verdict"] == "ship it"

    oldest = get_json(server, "/api/threads/t%201%2Fx/history?limit=200")["checkpoints"][-1]
    status, forked = post_json(
        server,
        "/api/threads/t%201%2Fx/fork",
        {"checkpoint_id": oldest["checkpoint_id"], "values": {"topic": "dogs"}, "run": False},
    )
    assert status == 200 and forked["run"] is None
    detail = get_json(server, f"/api/threads/t%201%2Fx/checkpoints/{forked['checkpoint_id']}")
    assert detail["parent_id"] == oldest["checkpoint_id"]
    assert detail["values"]["topic"] == "dogs"


def test_a_refused_fork_answers_400_and_saves_nothing(server: StudioServer) -> None:
    _, started = post_json(server, "/api/runs", {"thread_id": "t", "input": {"topic": "cats"}})
    server.studio.wait(started["run_id"], timeout=30)
    before = get_json(server, "/api/threads/t/history")
    status, body = post_json(
        server,
        "/api/threads/t/fork",
        {"checkpoint_id": before["latest_id"], "values": {"bogus": 1}},
    )
    assert status == 400 and "not in the state schema" in body["error"]
    assert get_json(server, "/api/threads/t/history") == before


def test_store_endpoints_list_namespaces_and_rank_items(server: StudioServer) -> None:
    assert get_json(server, "/api/store/namespaces")["namespaces"] == [
        ["memories", "alice"],
        ["memories", "bob"],
    ]
    ranked = get_json(server, "/api/store/items?ns=%5B%22memories%22%5D&query=vegetarian")
    assert ranked["items"][0]["key"] == "food"
    assert ranked["items"][0]["namespace"] == ["memories", "bob"]
    assert ranked["items"][0]["score"] > ranked["items"][-1]["score"]
    status, _, body = request(server, "/api/store/items?ns=memories")
    assert status == 400 and b"JSON list" in body


def test_a_non_loopback_bind_skips_the_host_check_but_still_needs_the_token() -> None:
    from graphkit.studio.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")


def test_deeply_nested_json_is_a_bad_request_not_a_crash(server: StudioServer) -> None:
    status, _, body = request(
        server, "/api/runs", body=b"[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert status == 400 and b"nested too deeply" in body


def test_a_failing_saver_answers_500_with_its_message_and_the_server_stays_up(
    server: StudioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(server.studio.saver, "list_threads", broken)
    status, _, body = request(server, "/api/threads")
    assert status == 500 and json.loads(body) == {"error": "OSError: disk on fire"}
    monkeypatch.undo()
    assert get_json(server, "/api/threads")["total"] == 0


def _raw_post(server: StudioServer, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """A POST whose headers go out as given (http.client sends them as latin-1)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("POST", "/api/runs")
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("length", ["\u00b2", "\u00b9\u00b2", "1\u00b3"])
def test_a_content_length_of_non_ascii_digits_is_refused_with_or_without_the_token(
    server: StudioServer, length: str
) -> None:
    """A "²" passes str.isdigit() but not int(): a 500 with the token, no answer at all
    (the handler died in _drain) without it."""
    for token in ({"X-Graphkit-Token": server.token}, {}):
        headers = token | {"Content-Type": "application/json", "Content-Length": length}
        status, body = _raw_post(server, headers, b"{}")
        assert status in (403, 411), (token, status, body)
        assert json.loads(body)["error"]
    assert get_json(server, "/api/threads")["total"] == 0  # still serving


def test_a_last_event_id_of_non_ascii_digits_replays_from_the_start(
    server: StudioServer,
) -> None:
    status, started = post_json(server, "/api/runs", {"thread_id": "t", "input": {"topic": "x"}})
    assert status == 200
    events = sse(server, started["run_id"])
    assert sse(server, started["run_id"], last="\u00b2") == events
    assert sse(server, started["run_id"], last="9" * 5000) == events


def test_history_before_a_malformed_checkpoint_id_is_a_bad_request(
    server: StudioServer,
) -> None:
    status, _, body = request(server, "/api/threads/t/history?before=..%2F..%2Fx")
    assert status == 400 and b"is not a checkpoint id" in body


def test_a_thread_id_with_a_lone_surrogate_is_listed_not_a_500_for_every_listing(
    server: StudioServer,
) -> None:
    """JSON may carry "\\ud800", which UTF-8 cannot encode: the answer to the run, and
    every thread listing after it, were 500s (UnicodeEncodeError)."""
    body = b'{"thread_id": "odd\\ud800", "input": {"topic": "x"}}'
    status, _, answer = request(
        server, "/api/runs", body=body, headers={"Content-Type": "application/json"}
    )
    assert status == 200, answer
    assert json.loads(answer)["thread_id"] == "odd\ud800"
    server.studio.wait(json.loads(answer)["run_id"], timeout=30)
    listed = get_json(server, "/api/threads")["threads"]
    assert [t["thread_id"] for t in listed] == ["odd\ud800"]

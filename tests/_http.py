"""A scripted HTTP server for the SDK-backed chat model tests (no network, no key).

The real SDK client runs over an ``httpx2.MockTransport`` (the anthropic and
openai SDKs use httpx2, not httpx); ``FixtureServer`` answers each request with
the next scripted (status, fixture file) and records the JSON body it received,
so a test can assert the wire mapping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import httpx2

FIXTURES = Path(__file__).parent / "fixtures"


class FixtureServer:
    """Scripted HTTP answers (status, fixture name) and the JSON bodies received."""

    extra_headers: ClassVar[dict[str, str]] = {}
    """Headers added to every answer (besides ``retry-after-ms`` and ``content-type``)."""

    def __init__(self, *answers: tuple[int, str]) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        """The headers of each request received (lowercase names)."""

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(json.loads(request.content))
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        status, name = self.answers.pop(0)
        kind = "text/event-stream" if name.endswith(".sse") else "application/json"
        headers = {"retry-after-ms": "1", **self.extra_headers, "content-type": kind}
        return httpx2.Response(status, content=(FIXTURES / name).read_bytes(), headers=headers)

    def http_clients(self) -> dict[str, Any]:
        """``http_client`` and ``http_async_client`` keyword arguments served by this server."""
        return {
            "http_client": httpx2.Client(transport=httpx2.MockTransport(self)),
            "http_async_client": httpx2.AsyncClient(transport=httpx2.MockTransport(self)),
        }

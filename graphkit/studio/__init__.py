"""graphkit studio: see, replay and steer a graph's runs in the browser, offline.

``graphkit studio --graph app.py:graph`` serves one page (plain HTML, CSS and
JavaScript shipped in this package: no build step, no CDN) on 127.0.0.1 that
draws the graph, lists the threads of its checkpoint saver, shows a thread's
history as a timeline and fork tree with each checkpoint's writes and state diff,
starts runs and streams their events live, resumes interrupts, forks from any
checkpoint with edited state, and browses the memory store.

From Python::

    from graphkit.studio import Studio, StudioServer
    server = StudioServer(Studio(graph))
    print(server.url)
    server.serve_forever()

:mod:`graphkit.studio.service` answers the page's questions through the public
graph API; :mod:`graphkit.studio.server` is the HTTP layer and its security.
"""

from __future__ import annotations

from graphkit.studio.server import MAX_BODY, StudioServer
from graphkit.studio.service import (
    BadRequest,
    Conflict,
    NotFound,
    Run,
    Studio,
    StudioError,
    diff_values,
)

__all__ = [
    "MAX_BODY",
    "BadRequest",
    "Conflict",
    "NotFound",
    "Run",
    "Studio",
    "StudioError",
    "StudioServer",
    "diff_values",
]

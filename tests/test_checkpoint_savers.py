"""Every saver against the shared checkpoint conformance suite."""

from checkpoint_conformance import *  # noqa: F403  (the suite's tests and fixture)

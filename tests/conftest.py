"""Test-suite wide settings (kept small and generic).

Hypothesis: the suite runs on busy 2-core CI machines with pytest-xdist, where a single
example can take far longer than Hypothesis' default 200 ms deadline for reasons that have
nothing to do with the code under test. The ``netrun`` profile therefore has no deadline
and prints reproduction blobs. ``HYPOTHESIS_PROFILE=thorough`` runs 10x more examples for
tests that do not set ``max_examples`` themselves.
"""

from __future__ import annotations

import os

try:
    from hypothesis import settings
except ImportError:  # hypothesis is a dev dependency; the suite still imports without it
    settings = None

if settings is not None:
    settings.register_profile("netrun", deadline=None, print_blob=True)
    settings.register_profile("thorough", parent=settings.get_profile("netrun"), max_examples=1000)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "netrun"))

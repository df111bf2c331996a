"""The suite's xdist group: what the host has only one of.

The suite runs in pytest-xdist workers (scripts/test.sh: -n 3 --dist loadgroup), each a process
with its own emulator, beside one another on one Docker Engine. A module that uses something the
host has only one of is marked HOST, so all such tests run on one worker, one at a time (each
still alongside the other workers' tests, which touch none of these):
- 169.254.170.2:80, where task credentials are served: the module makes `link_local_emulator`
  (tests/conftest.py) its `ecs_emulator`, or starts an emulator of its own that may take it;
- the extra Docker Engines of tests/extra_engines.py (their indexes are claimed across sessions;
  their starts no longer take the host's docker0 away: scripts/extra-dockerd.sh starts each on
  an empty network store, tests/test_extra_dockerd_docker0.py);
- docker0 itself, Docker's default bridge: `docker build` (its RUN steps), or a container on it.
"""

import pytest

HOST = pytest.mark.xdist_group("host")

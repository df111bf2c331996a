"""The suite's xdist groups: what the host has only one of.

The suite runs in pytest-xdist workers (scripts/test.sh: -n 3 --dist loadgroup), each a process
with its own emulator, beside one another on one Docker Engine. A module that uses something the
host has only one of is marked with its group, so all of the group's tests run on one worker,
one at a time (each still alongside the other workers' tests):
- LINK_LOCAL: 169.254.170.2:80, where task credentials are served; the module also makes
  `link_local_emulator` (tests/conftest.py) its `ecs_emulator`, or starts its own emulator.
- ENGINES: the extra Docker Engines of tests/extra_engines.py, whose (re)starts touch the host's
  bridges.
"""

import pytest

LINK_LOCAL = pytest.mark.xdist_group("link_local")
ENGINES = pytest.mark.xdist_group("engines")

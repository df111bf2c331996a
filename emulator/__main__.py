"""`python -m emulator` runs the same command as `ecs-emulator`."""

import sys

from emulator.cli import main

sys.exit(main())

"""``python -m restyle``: the command line."""

import sys

try:
    from .core.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: a clean exit, never a traceback
    print("restyle: cancelled", file=sys.stderr)
    sys.exit(130)

sys.exit(main())

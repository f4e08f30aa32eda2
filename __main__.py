"""``python -m restyle``: the command line."""

import sys

try:
    from .core.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: a clean exit, never a traceback
    from .core.interrupt import EXIT_CANCELLED, say_stopped_while_starting

    say_stopped_while_starting()
    sys.exit(EXIT_CANCELLED)

sys.exit(main())

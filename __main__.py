"""``python -m restyle``: the command line."""

import sys

try:
    from .core.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: a clean exit, never a traceback
    from .core.interrupt import EXIT_CANCELLED, cancelled_before_start, command_word

    if "--json" in sys.argv[1:]:  # the record a cancelled run closes with, as interrupt's
        print('{"cancelled": true}', flush=True)
    print(cancelled_before_start(command_word(sys.argv[1:])), file=sys.stderr)
    sys.exit(EXIT_CANCELLED)

sys.exit(main())

"""``python -m opportunities …``: the command line (an adapter in ``cli/``, run from the project folder)."""

from cli.commands import main

raise SystemExit(main())

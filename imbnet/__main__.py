"""``python -m imbnet``: the command line."""

from imbnet.cli import main

raise SystemExit(main())

"""``python -m imbnet``: the command line."""

from imbnet.cli import command

raise SystemExit(command())

"""The one exception the command line turns into a message and an exit status."""


class CommandError(Exception):
    """A problem with the user's input: printed as one line, exit status 2."""

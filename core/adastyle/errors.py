"""Errors a user can cause from the command line: shown as one line, exit code 2, no traceback."""


class UserError(Exception):
    """A problem with what the user asked for, with a message fit to show them."""

"""Errors the user can fix. The CLI prints them as one line on stderr and exits 2."""


class BadInput(Exception):
    """Bad input the user can fix: a missing/undecodable file, empty text, unknown model, ...

    The message is one plain sentence that says what is wrong and what to do.
    """


class NotBuiltYet(Exception):
    """A command whose engine part does not exist yet (exit 2)."""

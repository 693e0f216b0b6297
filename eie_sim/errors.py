"""One exception type for every mistake in the user's input: the CLI turns it into one line and exit code 2."""


class InputError(ValueError):
    """Bad input from the user: an unknown name, a malformed file, an impossible parameter."""

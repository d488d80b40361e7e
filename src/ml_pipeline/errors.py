"""The one exception type that means "the user's input is wrong" (exit code 2)."""


class InputError(Exception):
    """Bad input or usage; its message is printed as one `error:` line on stderr."""

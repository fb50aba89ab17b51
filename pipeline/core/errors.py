"""The one exception type that the CLI turns into a clear message and a non-zero exit."""


class NewsumError(Exception):
    """A run that cannot proceed: bad arguments, a missing input, an unknown format.

    The message is shown to the user as is, so it says what went wrong and what to do.
    Problems with one record never raise this: they mark the record instead.
    """

    exit_code = 2

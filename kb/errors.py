"""The one exception type whose message a user sees as is."""


class EventKBError(Exception):
    """An expected failure: its message is one sentence that says what to do."""

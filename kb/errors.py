"""The exceptions whose message a user sees as is: one sentence that says what to do."""


class EventKBError(Exception):
    """An expected failure: its message is one sentence that says what to do."""


class NotFound(EventKBError):
    """A named thing (passage, answer, person, document) is not there."""


class NoKnowledgeBase(EventKBError):
    """The knowledge base home holds no build yet."""


class Unavailable(EventKBError):
    """A service the answer needs (a model server) is down or not answering: worth retrying later."""

    def __init__(self, message: str, retry_after: int = 10) -> None:
        super().__init__(message)
        self.retry_after = retry_after

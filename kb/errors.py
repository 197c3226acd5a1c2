"""The exceptions whose message a user sees as is: one sentence that says what to do."""


class EventKBError(Exception):
    """An expected failure: its message is one sentence that says what to do."""


class NotFound(EventKBError):
    """A named thing (passage, answer, person, document) is not there."""


class NoKnowledgeBase(EventKBError):
    """The knowledge base home holds no build yet."""

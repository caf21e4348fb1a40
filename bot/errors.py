"""Domain errors, each carrying the message a user should see."""

from __future__ import annotations


class BotError(Exception):
    """Base of every error whose message is meant for the user (CLI or Discord)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.user_message = message


class QuestionError(BotError):
    """The question cannot be asked as it is (empty, too long)."""


class EmptyQuestion(QuestionError):
    def __init__(self) -> None:
        super().__init__("The question is empty: type a question about the articles.")


class QuestionTooLong(QuestionError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(
            f"The question is {length} characters long; the limit is {limit}. Ask it more briefly."
        )


class IndexError_(BotError):
    """The index on disk cannot be used; the message says how to fix it."""


class IndexMissing(IndexError_):
    def __init__(self, path: str) -> None:
        super().__init__(f"No index at {path}. Build it with: python -m bot index")


class IndexCorrupt(IndexError_):
    def __init__(self, path: str, detail: str) -> None:
        super().__init__(
            f"The index at {path} is damaged ({detail}). Rebuild it with: python -m bot index --rebuild"
        )


class ModelMismatch(IndexError_):
    def __init__(self, index_model: str, configured: str) -> None:
        super().__init__(
            f"The index was built with the model {index_model!r} but the configured model is "
            f"{configured!r}. Rebuild it with: python -m bot index --rebuild"
        )


class DimensionMismatch(ModelMismatch):
    """The model at the configured path now makes vectors of another length than the index's."""

    def __init__(self, index_dim: int, model_dim: int, configured: str) -> None:
        BotError.__init__(
            self,
            f"The index holds {index_dim}-dimensional vectors but the model {configured!r} now makes "
            f"{model_dim}-dimensional ones (the model was replaced). Rebuild it with: python -m bot index --rebuild",
        )


class DiskFull(BotError):
    """A build ran out of disk space; the live generation is untouched."""

    def __init__(self, path: str) -> None:
        super().__init__(
            f"No space left on the disk of {path}: the new index could not be written and the current one is"
            " kept. Free some space and run: python -m bot index"
        )


class IndexFolderProblem(IndexError_):
    """A path of the index folder is of the wrong kind (a file for a folder or the reverse)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"Cannot use the index at {path}: {problem}.")


class BuildInProgress(BotError):
    def __init__(self) -> None:
        super().__init__("An index build is already running; try again when it has finished.")


class CorpusError(BotError):
    """The corpus folder cannot be used (missing, empty)."""


class ModelError(BotError):
    """The embedding model cannot be loaded."""


class InputFileError(BotError):
    """A question file (batch, evaluation) cannot be read."""


class IngestError(BotError):
    """An article could not be added."""


class UnsafeURL(IngestError):
    """A URL (or a redirect) points somewhere the bot must not fetch."""


class FetchError(IngestError):
    """A page could not be fetched (timeout, size, type, status)."""

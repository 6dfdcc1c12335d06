"""The exception the CLI reports as a single line instead of a traceback, and the matching warning."""


class GanforgeError(Exception):
    """Bad user input or environment: the message says what was wrong and how to fix it."""


class OutOfMemory(GanforgeError):
    """A :class:`GanforgeError` for memory that ran out: callers that know where the sizes came from say so."""


class GanforgeWarning(UserWarning):
    """Something went wrong but was worked around (a corrupt checkpoint skipped, say); the CLI shows one line."""


def message_of(exc: BaseException) -> str:
    """An exception's message as one line, without the C++ stack torch appends after its own message."""
    text = str(exc).split("\nException raised from ", 1)[0]
    return " ".join(text.split())


MEMORY_MESSAGES = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says memory ran out (torch's CPU and CUDA allocators, Python's MemoryError): the sizes asked
    for are the cause, not a bug in the code that asked."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return True
    return isinstance(exc, RuntimeError) and any(text in str(exc).lower() for text in MEMORY_MESSAGES)


def out_of_memory_error(what: str, exc: BaseException) -> OutOfMemory:
    """One line for running out of memory while doing ``what``: the settings that size it are the fix."""
    detail = message_of(exc)
    at = next((detail.lower().find(text) for text in MEMORY_MESSAGES if text in detail.lower()), -1)
    sentence = detail.rfind(". ", 0, at) if at > 0 else -1  # from the sentence that says so, past allocator internals
    found = (detail[sentence + 2 :] if sentence >= 0 else detail) or type(exc).__name__
    return OutOfMemory(
        f"{what} ran out of memory ({found[:160]}); lower the sizes the settings ask for (e.g. generator.hidden, "
        "discriminator.hidden, train.batch_size, data.size) or use a device with more memory"
    )

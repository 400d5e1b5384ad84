"""The one error type for bad input: the CLI prints it as one line and exits with code 2."""


class InputError(Exception):
    """Bad input from a user-supplied file or flag.

    Formats as `FILE:LINE: field 'NAME': what is wrong` (parts left out when unknown), so the
    user can jump straight to the problem.
    """

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field, self.reason = file, line, field, message
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file is not None:
            where = f"{self.file}:{self.line}: " if self.line is not None else f"{self.file}: "
        what = f"field '{self.field}': " if self.field else ""
        return f"{where}{what}{self.reason}"


def first_line(error: Exception) -> str:
    """An exception as one line (Hub and transformers errors run to paragraphs)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__

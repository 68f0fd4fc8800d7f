"""Formula errors: a message, the 0-based position in the formula, and a code."""

from __future__ import annotations


class EvalError(Exception):
    """An evaluation guard tripped (a limit); reported as a formula error at the call."""


class FormulaError(ValueError):
    """Anything wrong with a formula, found while parsing, checking or evaluating it."""

    def __init__(self, message: str, position: int = 0, code: str = "FORMULA_ERROR") -> None:
        super().__init__(f"{message} (at position {position + 1})")
        self.message = message
        self.position = position
        self.code = code

    def line_column(self, text: str) -> tuple[int, int]:
        """1-based line and column of the error in ``text``."""
        before = text[: self.position]
        line = before.count("\n") + 1
        column = self.position - (before.rfind("\n") + 1) + 1
        return line, column

    def caret(self, text: str) -> str:
        """The formula line with a caret under the error, then the message::

        IF(a >, 1)
              ^ expected a value but found ','
        """
        line_no, column = self.line_column(text)
        line = text.split("\n")[line_no - 1] if text else ""
        return f"{line}\n{' ' * (column - 1)}^ {self.message}"

    def describe(self, text: str) -> str:
        """One message for people: position, message and the caret picture."""
        line, column = self.line_column(text)
        where = f"line {line}, column {column}" if "\n" in text else f"column {column}"
        return f"{self.message} at {where}\n{self.caret(text)}"

"""The base of every error the project raises for a user to read.

Such an error's message is the whole story (it names the spec and field, the file and line,
the worker, the missing credential), so the command line prints it as one line instead of
a traceback. Each package keeps its own error types beside the code that raises them;
deriving them from ``ExplainedError`` is what lets the command line recognise them without
importing (and paying for) every package.
"""


class ExplainedError(Exception):
    """An error whose message tells the user what went wrong and where."""

"""The base class of errors caused by the user's input (data, params, schema, files).

The CLI prints these as one line and exits 2; anything else is a bug and keeps its traceback.
"""


class MlpipeError(ValueError):
    """Bad input: the message says what is wrong, where, and how to fix it."""

"""The Hugging Face libraries, kept to what a newsum user needs to read.

transformers and huggingface_hub print loading bars and advice, and their exceptions can
run to pages: newsum turns the first off (unless --debug) and cuts the second to a line.
"""

from __future__ import annotations

import logging
import warnings


def quiet_libraries() -> None:
    """Loading bars and advice from transformers would fill stderr; --debug shows them."""
    if logging.getLogger("newsum").isEnabledFor(logging.DEBUG):
        return
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message="Recommended: pip install sacremoses")


def first_line(exc: Exception) -> str:
    """A library's exception in one line: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

"""Reading what strangers hand rigfit: only regular files (a FIFO would block forever, a device such as
/dev/zero would never end), each within a size cap for its kind, and text from files cleaned of control
characters before it reaches a terminal or an error line."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from .errors import BadModelFile

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
MAX_TEXT_CHARS = 200


def clean_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """``text`` with control and bidirectional-override characters replaced by spaces (no escape sequence,
    newline or reordering reaches the terminal) and cut to ``limit`` characters."""
    out = _CONTROL.sub(" ", text)
    return out if len(out) <= limit else out[: limit - 1] + "…"


MAX_NAME_CHARS = 512  # a model, hardware or workload name, or a path, as typed


def check_name(kind: str, text: str) -> str:
    """``text`` if it is a plausible name; an error naming the kind for a 10,000-character one."""
    if len(text) > MAX_NAME_CHARS:
        from .errors import InvalidInput

        raise InvalidInput(f"{kind} name of {len(text):,} characters is too long (at most {MAX_NAME_CHARS})")
    return text


def is_existing_path(text: str) -> bool:
    """Whether ``text`` names something on disk (False for names the OS cannot even look up)."""
    try:
        return Path(text).expanduser().exists()
    except (OSError, ValueError):
        return False


def regular_file_size(path: str | os.PathLike[str], what: str) -> int:
    """The size of ``path`` if it is a regular file (symlinks followed); else BadModelFile naming it."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise BadModelFile(f"{clean_text(str(path))}: cannot open: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise BadModelFile(f"{clean_text(str(path))}: not a regular file (a {what} must be one)")
    return st.st_size


def read_regular_file(path: str | os.PathLike[str], max_bytes: int | None, what: str, *,
                      head_bytes: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (or its first ``head_bytes``)."""
    size = regular_file_size(path, what)
    if max_bytes is not None and size > max_bytes:
        raise BadModelFile(f"{clean_text(str(path))}: {size:,} bytes is too large for a {what} "
                           f"(at most {max_bytes:,})")
    try:
        with Path(path).open("rb") as fh:
            return fh.read(head_bytes if head_bytes is not None else size + 1)
    except OSError as exc:
        raise BadModelFile(f"{clean_text(str(path))}: cannot read: {exc.strerror or exc}") from None


__all__ = ["MAX_NAME_CHARS", "check_name", "clean_text", "is_existing_path", "read_regular_file",
           "regular_file_size"]

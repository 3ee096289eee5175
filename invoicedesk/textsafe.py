"""Text from the services, made safe to show: on a terminal, in one line, in a bounded size.

Customer names, notes and error bodies come from other people's systems. On a terminal a raw
ESC starts an escape sequence (it can retitle the window or hide what follows), a CR or LF
splits one record over two lines, a BEL rings, and a bidi override (U+202E) shows text in
an order it was not written in. In the window a 10 MB name laid out on the GUI thread freezes
it for tens of seconds. This module is a leaf: it imports nothing from InvoiceDesk and no Qt.

JSON output never goes through here: it escapes control characters itself and must stay exact.
"""

from __future__ import annotations

import re

# C0 controls (tab and newline included: they break a table's columns and lines), DEL, C1
# controls, the line and paragraph separators, and the bidi embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# What the window lays out of one field at most: a few screens of text, a few ms of layout.
DISPLAY_LIMIT = 4000


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def has_unsafe(text: str) -> bool:
    """True when ``text`` holds a control character or a bidi control."""
    return _UNSAFE.search(text) is not None


def terminal_safe(text: str) -> str:
    """``text`` with every control and bidi character written as a visible escape (``\\x1b``).

    The result is one line that a terminal shows exactly as it reads, whatever it held.
    """
    return _UNSAFE.sub(_escape, text)


def one_line(text: str, limit: int) -> str:
    """``text`` as one line of at most ``limit`` characters: controls and runs of space become one space.

    For a service's error message inside a sentence of our own, where an escape such as
    ``\\n`` would only puzzle staff.
    """
    flat = " ".join(_UNSAFE.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_LONG_RUN = re.compile(r"\S{121,}")
_BREAK_EVERY = 30


def breakable(text: str) -> str:
    """``text`` with a zero-width space every 30 characters of any run over 120 without a space.

    A word-wrapped label cannot break an unbroken run, so one such run makes it (and the pane
    around it) as wide as the run. Ordinary words, emails and links are shorter and untouched,
    so copying them from the window gives exactly what the service sent.
    """

    def split(match: re.Match[str]) -> str:
        run = match.group()
        return "\u200b".join(run[i : i + _BREAK_EVERY] for i in range(0, len(run), _BREAK_EVERY))

    return _LONG_RUN.sub(split, text)


def human_size(chars: int) -> str:
    """A length of text as staff read a file size: "512 characters", "38 kB", "10 MB"."""
    if chars < 1000:
        return f"{chars} characters"
    for unit, scale in (("kB", 1000), ("MB", 1000**2), ("GB", 1000**3)):
        if chars < scale * 1000 or unit == "GB":
            value = chars / scale
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def capped(text: str, limit: int = DISPLAY_LIMIT) -> str:
    """The first ``limit`` characters of ``text``, then "… (10 MB)" naming the full size.

    Counting characters rather than encoded bytes keeps this O(limit) for any input; for the
    names and notes it is used on, the two differ little.
    """
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({human_size(len(text))})"

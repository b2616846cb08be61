"""Progress display for long fits: a bar redrawn in place on a terminal, one
line per epoch otherwise (logs, CI, notebooks)."""
from __future__ import annotations

import os
import sys
import time
from typing import Optional, TextIO

# the narrowest bar drawn; on a terminal too narrow for it the line goes without
_MIN_BAR = 10


def _columns(stream: TextIO) -> int:
    """The width of the terminal the stream writes to, read as
    shutil.get_terminal_size reads sys.__stdout__'s ($COLUMNS first); 80 when
    unknown."""
    try:
        columns = int(os.environ.get("COLUMNS", 0))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(stream.fileno()).columns
        except (AttributeError, OSError, ValueError):  # no file descriptor, or not a terminal
            columns = 0
    return columns if columns > 0 else 80


class EpochProgress:
    """Call once per finished epoch (or iteration) with its objective value;
    close() when the fit ends, early or not.  Silent unless enabled, when
    there is no stream (sys.stderr is None under pythonw and some services),
    and from the first write the stream refuses (OSError or ValueError) on."""

    def __init__(self, total: int, label: str, unit: str = "epochs", enabled: bool = True,
                 stream: Optional[TextIO] = None, width: int = 30):
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.stream is not None
        self.width = width  # the bar's width where the terminal has room for it
        self.start = time.perf_counter()
        try:
            self.interactive = bool(self.stream.isatty())
        except (AttributeError, OSError, ValueError):  # no isatty, or a closed stream
            self.interactive = False
        self.line_open = False  # a bar is drawn and its line not yet ended
        self.drawn = 0  # the length of the bar's line on screen

    def __call__(self, epoch: int, objective: float) -> None:
        if not self.enabled:
            return
        done = epoch + 1
        per_epoch = (time.perf_counter() - self.start) / done
        status = f"{done}/{self.total} {self.unit}  objective {objective:.5f}"
        timing = f"  {per_epoch:.3f} s/{self.unit[:-1]}"
        if self.interactive:
            room = _columns(self.stream) - 1
            line = self._bar_line(done, status, timing, room)
            # blanks over what is left of a longer previous line
            self._write("\r" + line + " " * (min(self.drawn, room) - len(line)))
            self.drawn = len(line)
            self.line_open = self.enabled
        else:
            self._write(f"{self.label}: {status}{timing}\n")

    def _write(self, text: str) -> None:
        """Write and flush; a stream that cannot be written (closed, or on a full
        disk) ends the display, not the fit."""
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False
            self.line_open = False

    def _bar_line(self, done: int, status: str, timing: str, room: int) -> str:
        """The bar's line in at most room columns (a line as wide as the terminal
        wraps on some, and each redraw would then start a new line): the bar
        shrinks first, down to _MIN_BAR, then the time per epoch goes, then the
        bar, then the label; what still does not fit is cut."""
        label = self.label + " "
        for tail in (status + timing, status):
            bar_width = min(self.width, room - len(label) - len(tail) - 3)
            if bar_width >= min(self.width, _MIN_BAR):
                filled = bar_width * min(done, self.total) // self.total
                return f"{label}[{'#' * filled}{'-' * (bar_width - filled)}] {tail}"
        for line in (label + status, status):
            if len(line) <= room:
                return line
        return status[:max(room, 0)]

    def close(self) -> None:
        """End the bar's line (a fit may stop before total)."""
        if self.line_open:
            self._write("\n")
            self.line_open = False

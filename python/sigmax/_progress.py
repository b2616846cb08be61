"""Progress display for long fits: a bar redrawn in place on a terminal, one
line per epoch otherwise (logs, CI, notebooks)."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class EpochProgress:
    """Call once per finished epoch (or iteration) with its objective value;
    close() when the fit ends, early or not.  Silent unless enabled, and when
    there is no stream (sys.stderr is None under pythonw and some services)."""

    def __init__(self, total: int, label: str, unit: str = "epochs", enabled: bool = True,
                 stream: Optional[TextIO] = None, width: int = 30):
        self.total = total
        self.label = label
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and self.stream is not None
        self.width = width
        self.start = time.perf_counter()
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())
        self.line_open = False  # a bar is drawn and its line not yet ended

    def __call__(self, epoch: int, objective: float) -> None:
        if not self.enabled:
            return
        done = epoch + 1
        per_epoch = (time.perf_counter() - self.start) / done
        status = (f"{done}/{self.total} {self.unit}  objective {objective:.5f}  "
                  f"{per_epoch:.3f} s/{self.unit[:-1]}")
        if self.interactive:
            filled = self.width * min(done, self.total) // self.total
            bar = "#" * filled + "-" * (self.width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {status}")
            self.line_open = True
        else:
            self.stream.write(f"{self.label}: {status}\n")
        self.stream.flush()

    def close(self) -> None:
        """End the bar's line (a fit may stop before total)."""
        if self.line_open:
            self.stream.write("\n")
            self.stream.flush()
            self.line_open = False

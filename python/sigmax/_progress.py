"""Progress display for long fits: a bar redrawn in place on a terminal, one
line per epoch otherwise (logs, CI, notebooks)."""
from __future__ import annotations

import sys
import time
from typing import Optional, TextIO


class EpochProgress:
    """Call once per finished epoch with its objective value."""

    def __init__(self, total: int, label: str, stream: Optional[TextIO] = None, width: int = 30):
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.start = time.perf_counter()
        self.interactive = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, epoch: int, objective: float) -> None:
        done = epoch + 1
        per_epoch = (time.perf_counter() - self.start) / done
        status = f"{done}/{self.total} epochs  objective {objective:.5f}  {per_epoch:.3f} s/epoch"
        if self.interactive:
            filled = self.width * done // self.total
            bar = "#" * filled + "-" * (self.width - filled)
            end = "\n" if done == self.total else ""
            self.stream.write(f"\r{self.label} [{bar}] {status}{end}")
        else:
            self.stream.write(f"{self.label}: {status}\n")
        self.stream.flush()

"""Progress bars that behave in logs: the one helper behind gen, solve, score, convert, eval,
knockout and train.

On a terminal it is a tqdm bar.  When stderr is not a terminal (a log file, a pipe, a batch
job) no bar is drawn: a plain line at most every `interval` seconds (30 by default) says how
far the run is, and a final line sums it up, so a long run's log stays a few lines long.
"""
from __future__ import annotations

import sys
import time

LOG_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


def progress_bar(iterable=None, *, total=None, desc: str = "", unit: str = "it", initial: int = 0,
                 enabled: bool = True, unit_scale: bool = False, interval: float = LOG_INTERVAL, file=None,
                 note: str | None = None):
    """A tqdm bar on a terminal, a `LogProgress` elsewhere, a silent tqdm when not `enabled`.
    All three take update(n), set_postfix(**values), close(), `with` and iteration.  A `note`
    (what the work will do and cost) is printed first, as one line ``desc: note``."""
    from tqdm.auto import tqdm

    file = sys.stderr if file is None else file
    if not enabled:
        return tqdm(iterable, total=total, disable=True)
    if note:
        print(f"{desc}: {note}" if desc else note, file=file, flush=True)
    isatty = getattr(file, "isatty", None)
    if isatty is not None and isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, unit_scale=unit_scale, file=file)
    return LogProgress(iterable, total=total, desc=desc, unit=unit, initial=initial, interval=interval, file=file)


class LogProgress:
    """Progress as a few whole lines: one every `interval` seconds at most, one at the end."""

    def __init__(self, iterable=None, *, total=None, desc="", unit="it", initial=0,
                 interval=LOG_INTERVAL, file=None, clock=time.monotonic):
        self.iterable, self.total, self.desc, self.unit = iterable, total, desc, unit
        self.n = self.start_n = initial
        self.interval, self.file, self.clock = interval, file or sys.stderr, clock
        self.t0 = self.last = clock()
        self.postfix, self.closed = {}, False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = self.clock()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def set_postfix(self, **values) -> None:
        self.postfix = values

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._line(self.clock(), final=True)

    def _line(self, now: float, final: bool = False) -> None:
        seconds = now - self.t0
        done = f"{self.n:,}" + (f"/{self.total:,}" if self.total is not None else "")
        rate = (self.n - self.start_n) / seconds if seconds > 0 else 0.0
        extra = "".join(f", {k} {v}" for k, v in self.postfix.items())
        head = f"{self.desc}: " if self.desc else ""
        print(f"{head}{'done, ' if final else ''}{done} {self.unit} in {seconds:,.0f} s "
              f"({rate:,.1f} {self.unit}/s){extra}", file=self.file, flush=True)

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

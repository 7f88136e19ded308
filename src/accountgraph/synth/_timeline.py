"""Hourly activity profiles and vectorised sampling of event times.

Every account follows one *profile row*: a relative intensity per UTC hour of the
window (diurnal in a time zone, office hours, flat 24/7, or a ring's scripted
cadence with bursts), normalised to mean 1. With the cumulative intensity ``W``
the expected number of requests of an account between hours ``lo`` and ``hi`` is
``rate * (W(hi) - W(lo))`` and an event time is drawn by inverting ``W`` - for all
accounts at once, by searching one flattened, row-offset copy of ``W``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

__all__ = ["Profiles"]

# Relative use by local hour for individuals (evening peak, night trough).
_DIURNAL = np.array([0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.25, 0.5, 0.8, 1.1, 1.3, 1.4,
                     1.35, 1.35, 1.4, 1.4, 1.35, 1.3, 1.3, 1.45, 1.6, 1.5, 1.1, 0.65])
_OFFICE = np.array([0.02] * 7 + [0.2, 0.7, 1.3, 1.5, 1.5, 0.9, 1.3, 1.5, 1.5, 1.4, 1.0,
                                  0.4, 0.15, 0.08, 0.05, 0.03, 0.02])


class Profiles:
    """Registry of hourly intensity rows over a window of ``hours`` hours.

    Parameters
    ----------
    start : str
        ISO date of hour 0 (00:00 UTC).
    hours : int
        Window length in hours.
    """

    def __init__(self, start: str, hours: int) -> None:
        self.hours = int(hours)
        self._weekday0 = dt.date.fromisoformat(start).weekday()
        self._rows: list[np.ndarray] = []
        self._keys: dict[tuple[object, ...], int] = {}
        self._final = False

    def _local(self, tz: int) -> tuple[np.ndarray, np.ndarray]:
        h = np.arange(self.hours) + int(tz)
        local_hour = h % 24
        weekday = (h // 24 + self._weekday0) % 7
        return local_hour, weekday >= 5

    def add(self, weights: np.ndarray, key: tuple[object, ...] | None = None) -> int:
        """Add a row of non-negative hourly weights (normalised here); return its index."""
        if key is not None and key in self._keys:
            return self._keys[key]
        w = np.maximum(np.asarray(weights, dtype=np.float64), 1e-3)
        self._rows.append(w / w.mean())
        self._final = False
        idx = len(self._rows) - 1
        if key is not None:
            self._keys[key] = idx
        return idx

    def diurnal(self, tz: int) -> int:
        """Row of an individual in UTC offset ``tz`` (weekends 15% quieter)."""
        lh, we = self._local(tz)
        return self.add(_DIURNAL[lh] * np.where(we, 0.85, 1.0), key=("diurnal", int(tz)))

    def office(self, tz: int) -> int:
        """Row of an office worker in UTC offset ``tz`` (weekends near zero)."""
        lh, we = self._local(tz)
        return self.add(_OFFICE[lh] * np.where(we, 0.04, 1.0), key=("office", int(tz)))

    def flat(self) -> int:
        """Constant 24/7 row (automation)."""
        return self.add(np.ones(self.hours), key=("flat",))

    def scripted(self, rng: np.random.Generator, burst_share: float) -> int:
        """A ring's scripted cadence: flat load with jitter, bursts and short pauses."""
        w = rng.gamma(30.0, 1 / 30.0, size=self.hours)
        burst = rng.random(self.hours) < burst_share
        w[burst] *= rng.uniform(3.0, 6.0, size=int(burst.sum()))
        pause = rng.random(self.hours) < 0.02
        w[pause] *= 0.05
        return self.add(w)

    def finalize(self) -> None:
        """Build the cumulative tables used by :meth:`integral` and :meth:`sample`."""
        w = np.vstack(self._rows)
        self._w = w
        cum = np.zeros((w.shape[0], self.hours + 1))
        np.cumsum(w, axis=1, out=cum[:, 1:])
        self._cum = cum
        self._stride = float(cum[:, -1].max() + 1.0)
        self._flat = (cum + (np.arange(w.shape[0]) * self._stride)[:, None]).ravel()
        self._final = True

    def integral(self, row: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Cumulative intensity ``W_row(h)`` for fractional hours ``h`` in ``[0, hours]``."""
        h = np.clip(h, 0.0, float(self.hours))
        i = np.minimum(np.floor(h).astype(np.int64), self.hours - 1)
        return self._cum[row, i] + (h - i) * self._w[row, i]

    def sample(self, rng: np.random.Generator, row: np.ndarray, lo: np.ndarray,
               hi: np.ndarray) -> np.ndarray:
        """Draw one time (fractional hour) per entry in ``[lo, hi)`` following ``row``."""
        a = self.integral(row, lo)
        b = self.integral(row, hi)
        u = a + rng.random(row.size) * (b - a)
        key = u + row * self._stride
        pos = np.searchsorted(self._flat, key, side="right") - 1
        i = pos - row * (self.hours + 1)
        i = np.clip(i, 0, self.hours - 1)
        frac = (u - self._cum[row, i]) / self._w[row, i]
        return np.clip(i + np.clip(frac, 0.0, 1.0), lo, np.nextafter(hi, -np.inf))

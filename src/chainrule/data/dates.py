"""Dates in text columns: which columns hold dates, and the dates as days since 1970-01-01.

A text column holds dates when at least ``DATE_SHARE`` of its present cells parse with one
format: ISO 8601 (``1990-06-19``, ``2020-01-03 12:00:00``, ``2020-01-03T12:00:00+01:00``; also
what Parquet and Feather date and timestamp columns read as), or the format pandas guesses from
the first cell (``06/19/1990`` is ``%m/%d/%Y``), applied to every cell. Plain numbers are never
dates. A date becomes the number of days since 1970-01-01 (UTC; fractions for times of day),
which a network takes as any other number.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

Array = np.ndarray

DATE_SHARE = 0.95  # a text column is dates when this share of its present cells parse
ISO = "ISO8601"
_GUESSES = 20  # distinct first cells whose format pandas is asked to guess
_ISO_LIKE = re.compile(r"\s*\d{4}-\d{1,2}(-\d{1,2})?([T ]\d{1,2}:\d{2}.*)?\s*")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")
_SAMPLE = 200


def _present_texts(values: Array) -> list[str] | None:
    """The present cells as text, or ``None`` when some cell is not text (true/false)."""
    present = [v for v in values.tolist() if v is not None]
    if not all(isinstance(v, str) for v in present):
        return None
    return present


def date_format(values: Array) -> str | None:
    """The format of a text column of dates (``"ISO8601"`` or a ``strptime`` format), or
    ``None`` when it does not hold dates.

    Candidates: ISO 8601, and the formats pandas guesses from the first distinct cells (stray
    cells such as ``TBD`` guess nothing), each also with day and month swapped (``05/04/2020``
    reads either way); the one that reads the most of a sample is kept, if it reads nearly all
    the column."""
    texts = _present_texts(values)
    if not texts:
        return None
    sample = texts[:_SAMPLE]
    if sum(bool(_NUMBER.fullmatch(t)) for t in sample) > len(sample) / 2:
        return None  # plain numbers (20200101 too) are not dates
    candidates = [ISO] if any(_ISO_LIKE.fullmatch(t) for t in sample) else []
    from pandas.tseries.api import guess_datetime_format

    for text in list(dict.fromkeys(t.strip() for t in sample))[:_GUESSES]:
        fmt = guess_datetime_format(text)
        if fmt is None or not ("%Y" in fmt or "%y" in fmt) or not any(
                part in fmt for part in ("%m", "%b", "%B")):
            continue  # a date needs a year and a month
        swapped = fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")
        candidates += [f for f in (fmt, swapped) if f not in candidates]
    if not candidates:
        return None
    array = np.array(sample, dtype=object)
    fmt = min(candidates, key=lambda f: len(date_days(array, f)[1]))  # (first of the best)
    if len(date_days(array, fmt)[1]) > len(sample) / 2:
        return None  # a quick look: mostly not dates
    bad = date_days(values, fmt)[1]
    return fmt if len(texts) - len(bad) >= DATE_SHARE * len(texts) else None


def date_days(values: Array, fmt: str) -> tuple[Array, list[str]]:
    """Days since 1970-01-01 of the text dates ``values`` in format ``fmt`` (NaN where missing
    or not a date), and the present cells that are not dates."""
    import pandas as pd

    cells = pd.Series(values, dtype=object)
    present = cells.notna().to_numpy()
    texts = cells[present].astype(str).str.strip()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas' format-inference chatter
        stamps = pd.to_datetime(texts, format=fmt, errors="coerce", utc=True)
        if fmt != ISO and stamps.isna().any():  # real dates and times (a DataFrame's
            iso = pd.to_datetime(texts[stamps.isna()], format=ISO, errors="coerce", utc=True)
            stamps = stamps.fillna(iso)  # datetime64, read as ISO text), whatever the format
    days = np.array((stamps - pd.Timestamp("1970-01-01", tz="UTC")) / pd.Timedelta(days=1),
                    dtype=float)
    out = np.full(len(values), np.nan)
    out[present] = days
    return out, [str(v) for v in cells[present][np.isnan(days)]]


def day_text(days: float) -> str:
    """``7475.0`` as ``1990-06-19`` (with the time of day when it has one)."""
    import pandas as pd

    stamp = pd.Timestamp("1970-01-01") + pd.Timedelta(days=float(days))
    return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)

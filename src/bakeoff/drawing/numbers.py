"""Numbers as a reader wants them: three significant digits, units, intervals that line up.

An estimate and its interval share decimals, and get more only when three significant digits
would print a bound identical to the median although it differs.
"""

from __future__ import annotations

import math

SIGNIFICANT = 3
MAX_DECIMALS = 6
MISSING = "—"
RATIO_UNITS = ("ratio", "×", "x")  # shown as "×1.80", like ratios to the baseline
_NBSP = "\u00a0"  # keeps a value and its unit on one line


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def decimals_for(value: float, significant: int = SIGNIFICANT) -> int:
    if value == 0:
        return significant - 1
    exponent = math.floor(math.log10(abs(value)))
    return min(MAX_DECIMALS, max(0, significant - 1 - exponent))


def _tiny(value: float) -> bool:
    return value != 0 and abs(value) < 10 ** -(MAX_DECIMALS - SIGNIFICANT + 1)


def fixed(value: float, decimals: int) -> str:
    if _tiny(value):
        return f"{value:.{SIGNIFICANT - 1}e}"
    return f"{value:,.{decimals}f}"


def number(value: object) -> str:
    """A lone figure with three significant digits, thousands separated; "—" when absent."""
    if not is_number(value):
        return MISSING
    if value == 0:
        return "0"
    return fixed(float(value), decimals_for(float(value)))


def integer(value: object) -> str:
    return f"{value:,.0f}" if is_number(value) else MISSING


def with_unit(text: str, unit: str | None) -> str:
    if not unit or text == MISSING:
        return text
    if unit == "%":
        return text + unit
    return f"{text}{_NBSP}{unit}"


def compact(value: object) -> str:
    """number() without trailing zeros: axis ticks and limits ("×0.5", "10%")."""
    text = number(value)
    return text.rstrip("0").rstrip(".") if "." in text and "e" not in text else text


def percent(fraction: object) -> str:
    """Three significant digits, at most two decimals: "21.4%", "10%", "0.65%", "0%"."""
    if not is_number(fraction):
        return MISSING
    value = fraction * 100
    text = f"{value:,.{min(decimals_for(value), 2)}f}"
    return with_unit(text.rstrip("0").rstrip(".") if "." in text else text, "%")


def estimate_parts(median: float, low: float, high: float) -> tuple[str, str, str]:
    """Median and bounds printed with the median's decimals, plus one more when three
    significant digits would print a differing bound as the median; a bound never shows more
    significant digits than it needs. Beyond four digits the spread is noise, not news."""
    decimals = decimals_for(median)
    extra = 1 if decimals < MAX_DECIMALS and _collides(median, low, high, decimals) else 0
    shown = fixed(median, decimals + extra)
    bounds = (fixed(b, min(decimals + extra, decimals_for(b) + extra)) for b in (low, high))
    return (shown, *bounds)


def _collides(median: float, low: float, high: float, decimals: int) -> bool:
    at = fixed(median, decimals)
    return any(b != median and fixed(b, decimals) == at for b in (low, high))


def estimate(median: object, ci95: object, unit: str | None = None) -> str:
    """"4.10 s [3.90–4.40]"; the bare median when no interval came with it."""
    if unit in RATIO_UNITS:
        return ratio(median, ci95)
    if not is_number(median):
        return MISSING
    bounds = _interval(ci95)
    if bounds is None:
        return with_unit(number(median), unit)
    shown, low, high = estimate_parts(float(median), *bounds)
    return f"{with_unit(shown, unit)} [{low}–{high}]"


def ratio(median: object, ci95: object) -> str:
    """"×1.80 [1.70–1.90]"."""
    if not is_number(median):
        return MISSING
    bounds = _interval(ci95)
    if bounds is None:
        return "×" + number(median)
    shown, low, high = estimate_parts(float(median), *bounds)
    return f"×{shown} [{low}–{high}]"


def _interval(ci95: object) -> tuple[float, float] | None:
    if isinstance(ci95, list | tuple) and len(ci95) == 2 and all(map(is_number, ci95)):
        return float(ci95[0]), float(ci95[1])
    return None


def duration(seconds: object) -> str:
    if not is_number(seconds):
        return MISSING
    if seconds < 60:
        return with_unit(number(seconds), "s")
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h"] if hours else []
    return " ".join(parts + [f"{minutes} min", f"{rest} s"]).replace(" ", _NBSP)

"""Readings for evaluations and benchmarks: percentiles (of durations) and the peak memory of processes."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile of values, interpolated linearly (0 for no values)."""
    import numpy as np

    return float(np.percentile(values, pct)) if len(values) else 0.0


def percentile_ms(seconds: Sequence[float], percent: float) -> float:
    """The percentile of durations in seconds, in milliseconds."""
    return percentile([value * 1000 for value in seconds], percent)


def own_peak_rss_mb() -> float:
    """Peak resident memory of this process alone (VmHWM; getrusage would count its parent's peak from before exec)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return peak_rss_mb()[0]


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest child so far, in MB."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return round(own * scale / 2**20, 1), round(children * scale / 2**20, 1)

"""Statistics for data quality and drift: pure numpy/scipy, no I/O."""

from shipway.stats.drift import ColumnDrift, DriftDetector, DriftResult, detect_drift

__all__ = ["ColumnDrift", "DriftDetector", "DriftResult", "detect_drift"]

"""How a column is treated for statistics: numeric or categorical, and its clean values."""

from __future__ import annotations

from typing import Any

import numpy as np

NUMERIC = "numeric"
CATEGORICAL = "categorical"


def column_kind(series: Any, declared_categorical: bool = False) -> str:
    """Numbers are numeric; text, booleans and categories are categorical."""
    import pandas as pd

    if declared_categorical:
        return CATEGORICAL
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMERIC
    if pd.api.types.is_object_dtype(dtype):
        # Mixed columns: numeric only when every non-null value is a number.
        sample = series.dropna()
        if len(sample) and pd.to_numeric(sample, errors="coerce").notna().all():
            return NUMERIC
    return CATEGORICAL


def numeric_values(series: Any) -> tuple[np.ndarray, int, int]:
    """Sorted finite values, the number missing, and the number infinite."""
    import pandas as pd

    values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    missing = int(np.isnan(values).sum())
    infinite = int(np.isinf(values).sum())
    finite = values[np.isfinite(values)]
    finite.sort(kind="quicksort")
    return finite, missing, infinite


def text_count(series: Any) -> int:
    """Values present but not numbers: text arriving in a column that holds numbers is a
    change of type, not missing data."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return 0
    present = series.dropna()
    return int(len(present) - pd.to_numeric(present, errors="coerce").notna().sum())


def category_counts(series: Any) -> tuple[dict[str, int], int]:
    """Counts per category (as text) and the number missing."""
    import pandas as pd

    missing = int(series.isna().sum())
    if isinstance(series.dtype, pd.CategoricalDtype):
        counts = series.value_counts(sort=False, dropna=True)  # counts codes: no text conversion
        return {str(k): int(v) for k, v in counts.items() if v}, missing
    counts = series.dropna().astype(str).value_counts(sort=False)
    return {str(k): int(v) for k, v in counts.items()}, missing

"""The bundled nycflights13 flights (2013, New York airports) joined with hourly weather."""

from __future__ import annotations

from pathlib import Path
from typing import Any

FLIGHTS = Path(__file__).parent / "flights.parquet"
NUMERIC = [
    "month",
    "day",
    "hour",
    "sched_dep_time",
    "distance",
    "temp",
    "humid",
    "wind_speed",
    "wind_gust",
    "precip",
    "pressure",
    "visib",
]
CATEGORICAL = ["carrier", "origin", "dest"]
FEATURES = NUMERIC + CATEGORICAL
LABEL = "delayed"  # arrival more than 15 minutes late


def load_flights(months: list[int] | None = None) -> Any:
    """Flights that arrived (cancelled and diverted ones have no arrival delay), with the label."""
    import pandas as pd

    df = pd.read_parquet(FLIGHTS)
    if months is not None:
        df = df[df["month"].isin(months)]
    df = df[df["arr_delay"].notna()].reset_index(drop=True)
    df[LABEL] = (df["arr_delay"] > 15).astype("int8")
    for column in CATEGORICAL:
        df[column] = df[column].astype(str)
    return df

"""Build the compact copy of nycflights13 that ships with shipway (src/shipway/demo/).

Source: the nycflights13 data set (Hadley Wickham; US Bureau of Transportation Statistics
on-time data and ASOS weather), CC0 1.0. Usage: python scripts/build_demo_data.py DATA_DIR
where DATA_DIR holds flights.csv.zip and weather.csv.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pandas as pd

OUT = Path(__file__).resolve().parents[1] / "src" / "shipway" / "demo" / "flights.parquet"
WEATHER = ["temp", "humid", "wind_speed", "wind_gust", "precip", "pressure", "visib"]


def main(data_dir: Path) -> None:
    with zipfile.ZipFile(data_dir / "flights.csv.zip") as archive:
        flights = pd.read_csv(archive.open("flights.csv"))
    weather = pd.read_csv(data_dir / "weather.csv")
    weather = weather.drop_duplicates(["origin", "time_hour"])[["origin", "time_hour", *WEATHER]]
    df = flights.merge(weather, on=["origin", "time_hour"], how="left")
    df["time_hour"] = pd.to_datetime(df["time_hour"], utc=True)
    df = df[
        ["time_hour", "month", "day", "hour", "sched_dep_time", "carrier", "flight", "tailnum", "origin", "dest",
         "distance", "dep_delay", "arr_delay", *WEATHER]
    ].sort_values(["time_hour", "carrier", "flight"], kind="stable")  # fmt: skip
    for col in ["month", "day", "hour"]:
        df[col] = df[col].astype("int8")
    for col in ["sched_dep_time", "flight", "distance"]:
        df[col] = df[col].astype("int32")
    for col in ["dep_delay", "arr_delay", *WEATHER]:
        df[col] = df[col].astype("float32")
    for col in ["carrier", "origin", "dest"]:
        df[col] = df[col].astype("category")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(OUT, index=False, compression="zstd", compression_level=19, row_group_size=50_000)
    print(f"wrote {OUT.name}: {len(df):,} rows, {OUT.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

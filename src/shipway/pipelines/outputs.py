"""How a step's result is stored as an artifact of its run, and read back: a DataFrame as
Parquet, a numpy array as ``.npy``, JSON-ready plain values as JSON, anything else (a model)
with cloudpickle. The artifact's hash is the result's identity in the cache keys downstream."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

OUTPUT = "output"  # the artifact's name, without its suffix


@dataclass(frozen=True)
class Encoded:
    """A result already encoded where it was made (a Ray worker): its bytes are what is
    stored and hashed, so a step gives the same digest on every executor (Ray hands numpy
    arrays back read-only and zero-copy, and those pickle to other bytes)."""

    data: bytes
    name: str


def encode(value: Any) -> tuple[bytes, str]:
    """The bytes of ``value`` and the artifact file that holds them."""
    import numpy as np
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        buffer = io.BytesIO()
        value.to_parquet(buffer)
        return buffer.getvalue(), f"{OUTPUT}.parquet"
    if isinstance(value, np.ndarray) and value.dtype != object:
        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return buffer.getvalue(), f"{OUTPUT}.npy"
    if _plain(value):
        return json.dumps(value, sort_keys=True).encode(), f"{OUTPUT}.json"
    import cloudpickle

    return cloudpickle.dumps(value), f"{OUTPUT}.pkl"


def decode(data: bytes, name: str) -> Any:
    if name.endswith(".parquet"):
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if name.endswith(".npy"):
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if name.endswith(".json"):
        return json.loads(data)
    import cloudpickle

    return cloudpickle.loads(data)  # written by this project's own step, hash-checked on read


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return value == value and value not in (float("inf"), float("-inf"))
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False

"""Labelled traffic: a deployment's logged inputs joined with their late labels, the rows a
retraining pipeline learns from when production traffic is the source of truth. The fluent
``sw.labelled_traffic`` and the controller's gate both read it here."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING

from shipway.errors import InvalidArgument
from shipway.monitoring.traffic import held_out_from, load_traffic, note_learnt
from shipway.session import Session

if TYPE_CHECKING:
    import pandas as pd


def labelled_traffic(
    session: Session,
    deployment: str,
    *,
    last_rows: int | None = None,
    start: float | None = None,
    end: float | None = None,
) -> pd.DataFrame:
    """The rows of ``deployment`` that got a label, oldest first: the model's input columns,
    a ``label`` column, and ``timestamp``, ``model_version`` and ``output`` beside them.
    ``last_rows`` keeps the newest N; ``start``/``end`` (epoch seconds) bound the traffic
    read. Inside a loop's run the rows the gate will judge the candidate on are left out,
    and what is read is noted as what the new version learns from."""
    if last_rows is not None and (
        isinstance(last_rows, bool) or not isinstance(last_rows, numbers.Integral) or last_rows < 1
    ):
        raise InvalidArgument(f"last_rows is a positive number of rows, not {last_rows!r}")
    for name, value in (("start", start), ("end", end)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)):
            raise InvalidArgument(f"{name} is a time in epoch seconds, not {value!r}")
    session.deployments.get(deployment)  # an unknown deployment is an error, not empty
    traffic: pd.DataFrame = load_traffic(
        None, deployment, start=start, end=end, reader=session.predictions.read
    )
    if traffic.empty:
        return traffic
    labelled = traffic[traffic["label"].notna()]
    exam = held_out_from(deployment)
    if exam is not None:  # inside a loop run: the gate's rows are not for learning
        labelled = labelled[labelled["timestamp"] < exam]
    if last_rows is not None:
        labelled = labelled.iloc[-last_rows:]
    inputs = [c for c in labelled.columns if c.startswith("input.")]
    kept = labelled[[*inputs, "label", "timestamp", "model_version", "output"]]
    found = kept.rename(columns=lambda c: c.removeprefix("input.")).reset_index(drop=True)
    note_learnt(deployment, found)  # inside a loop run: what the new version learns from
    return found

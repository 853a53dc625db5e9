"""``shipway check``: what CI runs on every change of an ML project, as four checks.

- **data**: the training data against its schema, and fresh enough when it has a time column;
- **smoke**: the training pipeline on a small sample, in a throwaway store;
- **gate**: the candidate (from the smoke run, or ``--model``) against the champion of the
  project's store, on the holdout, with the thresholds of ``[check]``;
- **serving**: the model loads, its signature accepts the input example, and its pinned
  requirements resolve.

Each check passes, fails with one line per failure, or is skipped with the reason (what
``[check]`` lacks). Nothing is written to the project's store: the smoke run's store is a
temporary folder, and the champion and the named datasets are only read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from shipway.config import CheckSettings, Settings, StoreSettings
from shipway.errors import InvalidArgument, NotFound, ShipwayError, StoreUnavailable

CHECKS = ("data", "smoke", "gate", "serving")


@dataclass
class Outcome:
    name: str
    status: str = "passed"  # passed, failed or skipped
    summary: str = ""
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def fail(self, line: str) -> None:
        self.status = "failed"
        self.failures.append(" ".join(line.split()))  # one line, whatever the error held

    def skip(self, why: str) -> None:
        self.status, self.summary = "skipped", why


@dataclass
class CheckReport:
    outcomes: list[Outcome]

    @property
    def ok(self) -> bool:
        return all(o.status != "failed" for o in self.outcomes)

    def failure_lines(self) -> list[str]:
        return [f"{o.name}: {line}" for o in self.outcomes for line in o.failures]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [dataclasses.asdict(o) for o in self.outcomes]}


@dataclass
class Candidate:
    """The model the gate and the serving check judge, loaded, and where it came from."""

    model: Any
    uri: str
    shown: str  # how reports name it


class Checks:
    """The four checks of one project, run in order (the smoke run makes the candidate)."""

    def __init__(
        self,
        settings: Settings,
        *,
        sample: int | None = None,
        model_uri: str | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.config: CheckSettings = settings.check
        if self.config == CheckSettings() and model_uri is None:
            where = settings.config_file or "shipway.toml"
            raise InvalidArgument(
                f"nothing to check: {where} has no [check] section",
                hint="`shipway init` writes one: pipeline, data, schema, holdout and gate",
            )
        self.root = settings.config_file.parent if settings.config_file else Path.cwd()
        self.sample = self.config.sample if sample is None else sample
        if self.sample < 0:
            raise InvalidArgument("--sample is a number of rows, 0 for every row")
        self.model_uri = model_uri
        self.say = say or (lambda _line: None)
        self.candidate: Candidate | None = None
        self._session: Any = None  # the project's own store, opened when first needed

    def run(self) -> CheckReport:
        outcomes = []
        with tempfile.TemporaryDirectory(prefix="shipway-check-") as scratch:
            self.scratch = Path(scratch)
            try:
                for name in CHECKS:
                    self.say(name)
                    outcome = Outcome(name)
                    started = time.perf_counter()
                    try:
                        getattr(self, f"_{name}")(outcome)
                    except ShipwayError as exc:  # a dataset not found, a store unreachable …
                        outcome.fail(str(exc))
                    except Exception as exc:  # a model that cannot unpickle here, a user's
                        # module that fails: the finding of this check, and the others run
                        outcome.fail(f"{type(exc).__name__}: {_first_lines(exc)}")
                    outcome.seconds = time.perf_counter() - started
                    outcomes.append(outcome)
            finally:
                self._close()
        return CheckReport(outcomes)

    # -- the project's files and store --------------------------------------------------

    def path(self, relative: str) -> Path:
        return self.root / relative

    @cached_property
    def has_store(self) -> bool:
        """Whether the project's store exists at this shipway's schema. A check only reads
        it: opening it must neither create an empty store nor migrate a team's database."""
        if self.settings.is_remote:
            return True  # the server keeps its own schema
        from shipway.store.database import HEAD_REVISION, schema_revision

        found = schema_revision(self.settings.metadata_url)
        if found is not None and found != HEAD_REVISION:
            raise StoreUnavailable(
                f"the store {self._store_name()} is at schema revision {found}, and this "
                f"shipway reads {HEAD_REVISION}; a check does not migrate it",
                hint="check with the shipway version the team runs, or migrate the store first",
            )
        return found is not None

    def _store_name(self) -> str:
        import sqlalchemy as sa

        url = sa.engine.make_url(self.settings.metadata_url)
        return url.render_as_string(hide_password=True)

    @property
    def session(self) -> Any:
        if not self.has_store:
            raise NotFound(
                f"there is no store at {self._store_name()}",
                hint="train and register a model first, or point SHIPWAY_TRACKING_URI at one",
            )
        if self._session is None:
            from shipway.session import Session

            self._session = Session(self.settings)
        return self._session

    def table(self, ref: str) -> Any:
        """A file of the project, or a dataset of its store (NAME or NAME@VERSION)."""
        from shipway.data.files import read_table

        return read_table(ref, lambda name: self.session.datasets.load(name), self.root)

    @cached_property
    def training_data(self) -> Any:
        """``[check] data``, read once for the data check and the input example."""
        assert self.config.data is not None
        return self.table(self.config.data)

    def _close(self) -> None:
        for session in (getattr(self, "_throwaway", None), self._session):
            if session is not None:
                with contextlib.suppress(ShipwayError):
                    session.close()

    # -- data -----------------------------------------------------------------------------

    def _data(self, outcome: Outcome) -> None:
        config = self.config
        if config.data is None:
            outcome.skip("no data in [check]")
            return
        try:
            frame = self.training_data
        except ShipwayError as exc:
            outcome.fail(f"cannot read {config.data}: {exc}")
            return
        outcome.summary = f"{len(frame):,} rows of {config.data}"
        if config.schema is None:
            outcome.notes.append("no schema in [check]: the columns were not checked")
        else:
            self._schema(outcome, frame, config.schema)
        if config.time_column is not None:
            self._freshness(outcome, frame, config.time_column, config.max_age_days)
        elif config.max_age_days is not None:
            self._version_freshness(outcome, config.data, config.max_age_days)

    def _schema(self, outcome: Outcome, frame: Any, schema_file: str) -> None:
        from shipway.data.schema import Schema
        from shipway.data.validation import validate

        try:
            schema = Schema.load(self.path(schema_file))
        except ShipwayError as exc:
            outcome.fail(f"cannot read the schema {schema_file}: {exc}")
            return
        result = validate(frame, schema)
        for failure in result.failures:
            where = f"column {failure.column!r}" if failure.column is not None else "the table"
            examples = (
                f"; e.g. {', '.join(repr(e) for e in failure.examples[:3])}"
                if failure.examples
                else ""
            )
            outcome.fail(
                f"{where}: {failure.message} ({failure.failing_rows:,} rows, "
                f"{failure.share:.1%}){examples}"
            )
        if result.ok:
            outcome.summary += f", valid against {schema_file}"
        if result.warnings:
            shown = ", ".join(f"{w.column} {w.check}" for w in result.warnings[:3])
            outcome.summary += f" ({len(result.warnings)} warning(s): {shown})"

    def _freshness(self, outcome: Outcome, frame: Any, column: str, max_days: float | None) -> None:
        """The newest row's age, always reported; a failure past ``max_age_days``."""
        import pandas as pd

        if column not in frame.columns:
            outcome.fail(f"no column {column!r}, the time_column of [check]")
            return
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            # epoch numbers: seconds, or milliseconds when they are that large
            big = values.abs().max() > 1e11
            times = pd.to_datetime(
                values, errors="coerce", utc=True, unit="ms" if big else "s"
            ).dropna()
        else:
            times = pd.to_datetime(values, errors="coerce", utc=True).dropna()
        if times.empty:
            outcome.fail(f"column {column!r} holds no times: freshness cannot be judged")
            return
        newest = times.max()
        age = (pd.Timestamp.now(tz="UTC") - newest).total_seconds() / 86400
        if max_days is not None and age > max_days:
            outcome.fail(
                f"column {column!r}: the newest row is from {newest:%Y-%m-%d %H:%M} UTC, "
                f"{age:.1f} days ago; [check] allows {max_days:g}"
            )
        else:
            outcome.summary += f", newest {column} {age:.1f} days old"

    def _version_freshness(self, outcome: Outcome, ref: str, max_days: float) -> None:
        """Data with no time column: a dataset version is as old as it was stored."""
        from shipway.data.files import names_a_file

        if names_a_file(ref, self.root):
            outcome.fail(
                f"max_age_days needs a time_column: the rows of {ref} carry no time of their own"
            )
            return
        stored = self.session.datasets.get(ref)
        age = (time.time() - stored.created_at) / 86400
        if age > max_days:
            outcome.fail(
                f"{stored.name}@{stored.version} was stored {age:.1f} days ago; "
                f"[check] allows {max_days:g}"
            )
        else:
            outcome.summary += f", stored {age:.1f} days ago"

    # -- smoke ----------------------------------------------------------------------------

    def _smoke(self, outcome: Outcome) -> None:
        from shipway.pipelines.pipeline import load

        reference = self.config.pipeline
        if reference is None:
            outcome.skip("no pipeline in [check]")
            return
        module, _, function = reference.partition(":")
        with contextlib.chdir(self.root):  # as `shipway pipeline run` would run there
            try:
                pipeline = load(
                    f"{self.path(module)}:{function}" if module.endswith(".py") else reference
                )
            except ShipwayError as exc:
                outcome.fail(str(exc))
                return
            params = dict(self.config.params)
            if self.sample:
                if "sample" in inspect.signature(pipeline.fn).parameters:
                    params["sample"] = self.sample
                else:
                    outcome.notes.append(
                        f"{reference} takes no `sample` parameter: it ran on every row"
                    )
            self._throwaway = self._scratch_session()
            from shipway.session import using

            try:
                # what the pipeline prints goes to stderr: stdout is the report (--json)
                with using(self._throwaway), contextlib.redirect_stdout(sys.stderr):
                    run = pipeline.run(tracking=self._throwaway.tracking, cache=False, **params)
            except ShipwayError as exc:  # its hint names runs of the throwaway store
                outcome.fail(f"{reference} failed: {_first_lines(exc.message)}")
                return
            except Exception as exc:  # the user's pipeline fails: that is the finding
                outcome.fail(f"{reference} failed: {_first_lines(exc)}")
                return
        rows = f"on {self.sample} rows" if self.sample and not outcome.notes else "on every row"
        outcome.summary = f"{reference} ran {rows}: {len(run.steps)} steps"
        if self.model_uri is None:
            self._adopt_smoke_candidate(outcome, run.returned, run.run_id)

    def _scratch_session(self) -> Any:
        from shipway.session import Session

        settings = dataclasses.replace(
            self.settings,
            home=self.scratch / "store",
            store=StoreSettings(),
            loops={},
            alerts=(),
        )
        return Session(settings)

    def _adopt_smoke_candidate(self, outcome: Outcome, returned: Any, run_id: str) -> None:
        from shipway.types import ModelVersion

        registry = self._throwaway.registry
        if isinstance(returned, ModelVersion):
            shown = f"the smoke run's model ({returned.uri} of the throwaway store)"
            self.candidate = Candidate(registry.load(returned.uri), returned.uri, shown)
            return
        if not hasattr(returned, "predict"):
            outcome.fail(
                f"the pipeline returned {type(returned).__name__}, not a model or a ModelVersion"
            )
            return
        from shipway.tracking.model_logging import log_model

        example = self._input_example()
        log_model(self._throwaway.tracking, run_id, returned, "model", input_example=example)
        uri = f"runs:/{run_id}/model"
        self.candidate = Candidate(registry.load(uri), uri, "the smoke run's model")

    def _input_example(self) -> Any:
        """A few rows of the training data without the label, when there is data."""
        if self.config.data is None:
            return None
        try:
            frame = self.training_data
        except ShipwayError:
            return None
        return frame.drop(columns=[self.config.label], errors="ignore").head(5)

    def _given_candidate(self, outcome: Outcome) -> Candidate | None:
        """The model to judge: ``--model``'s (loaded once), else the smoke run's."""
        if self.model_uri is not None and self.candidate is None:
            try:
                self.candidate = Candidate(
                    self.session.registry.load(self.model_uri), self.model_uri, self.model_uri
                )
            except ShipwayError as exc:
                outcome.fail(f"cannot load {self.model_uri}: {exc}")
                return None
        if self.candidate is None:
            outcome.skip("no candidate: the smoke run made none (pass --model URI)")
        return self.candidate

    # -- gate -----------------------------------------------------------------------------

    def _gate(self, outcome: Outcome) -> None:
        from shipway.automation.gate import Gate, judge

        config = self.config
        if not config.gate:
            outcome.skip("no gate in [check]")
            return
        if config.holdout is None:
            outcome.skip("no holdout in [check]: the gate needs rows no model trained on")
            return
        try:
            gate = Gate.from_dict(dict(config.gate))
            holdout = self.table(config.holdout)
        except ShipwayError as exc:
            outcome.fail(str(exc))
            return
        candidate = self._given_candidate(outcome)
        if candidate is None:
            return
        champion = self._champion(outcome)
        if outcome.status == "failed":
            return
        try:
            verdict = judge(
                gate, candidate.model, champion, holdout, config.label, holdout_name=config.holdout
            )
        except ShipwayError as exc:
            outcome.fail(str(exc))
            return
        except Exception as exc:  # a model that cannot score the holdout: that is the finding
            outcome.fail(f"the models cannot score {config.holdout}: {_first_lines(exc)}")
            return
        outcome.summary = verdict.summary()
        for reason in verdict.reasons:
            outcome.fail(reason)

    def _champion(self, outcome: Outcome) -> Any:
        config = self.config
        if config.model is None:
            outcome.notes.append("no model in [check]: only value thresholds apply")
            return None
        uri = f"models:/{config.model}@{config.champion}"
        if not self.has_store:
            outcome.notes.append(f"no store at {self._store_name()}: only value thresholds apply")
            return None
        try:
            return self.session.registry.load(uri)
        except NotFound:
            outcome.notes.append(f"no champion ({uri}): only value thresholds apply")
            return None
        except ShipwayError as exc:
            outcome.fail(f"cannot load the champion {uri}: {exc}")
            return None

    # -- serving --------------------------------------------------------------------------

    def _serving(self, outcome: Outcome) -> None:
        candidate = self._given_candidate(outcome)
        if candidate is None:
            return
        model = candidate.model
        example = model.input_example if model.input_example is not None else self._input_example()
        if example is None and model.signature is None:
            outcome.skip(
                f"{candidate.shown} has no signature and no input example, and [check] has no "
                "data to try it on: set data in [check], or log the model with an input_example"
            )
            return
        if model.signature is None:
            outcome.fail(f"{candidate.shown} has no signature: log it with an input_example")
        if example is None:
            outcome.fail("no input example to try the model on: log one, or set data in [check]")
        elif model.signature is not None:
            _answers(outcome, model, example)
        from shipway.project.requirements import unresolved

        pins = list(model.document.get("requirements", []))
        for problem in unresolved(pins):
            outcome.fail(problem)
        if outcome.status == "passed":
            outcome.summary = (
                f"{candidate.shown} loads, answers its input example, and its {len(pins)} pinned "
                "requirements resolve"
            )


def _answers(outcome: Outcome, model: Any, example: Any) -> None:
    """The model predicts its input example, one answer per row, as serving would ask it."""
    try:
        answered = model.predict(example)
    except Exception as exc:  # the finding: serving would refuse or crash the same way
        outcome.fail(f"the model refuses its input example: {_first_lines(exc)}")
        return
    if not hasattr(answered, "__len__") or len(answered) != len(example):
        outcome.fail(f"{len(example)} rows in, and not one prediction for each of them")


def _first_lines(exc: BaseException | str, limit: int = 6) -> str:
    text = exc if isinstance(exc, str) else (str(exc) or type(exc).__name__)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[:limit])

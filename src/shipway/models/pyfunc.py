"""Custom models: subclass :class:`PythonModel` for your own pre- and post-processing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ModelContext:
    """What a custom model sees at load time: paths of the extra files stored with it."""

    artifacts: dict[str, str] = field(default_factory=dict)


class PythonModel:
    """Base class for a custom model: override ``predict`` (and ``load_context`` if needed).

    The object is pickled with cloudpickle when logged; ``load_context`` runs after loading,
    with the paths of the ``extra_files`` given to ``log_model``.
    """

    def load_context(self, context: ModelContext) -> None:  # noqa: B027 - optional hook
        """Load anything the model needs from ``context.artifacts``."""

    def predict(self, context: ModelContext, model_input: Any) -> Any:
        raise NotImplementedError("a PythonModel must implement predict(context, model_input)")

"""The automation tests serve models in process, as the serving tests do."""

from tests.serving.conftest import serve  # noqa: F401 - the in-process model server fixture

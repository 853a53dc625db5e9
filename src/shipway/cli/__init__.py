"""The ``shipway`` command."""

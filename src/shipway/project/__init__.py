"""A project: made by ``shipway init`` (from a template or a notebook), and checked by
``shipway check``, the command CI runs on every change (data, a smoke run, the gate, serving)."""

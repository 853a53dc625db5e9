"""The fluent API: the functions ``import shipway as sw`` exports, acting through the
process's session (:func:`shipway.session.current`). Like the CLI, this is an adapter: it
binds a user's calls to the session's services and holds no logic of its own."""

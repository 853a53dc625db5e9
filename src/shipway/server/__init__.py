"""The control plane: the versioned REST API over tracking and the registry (``shipway server``)."""

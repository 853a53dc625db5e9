"""The web UI's page and modules (``static/``): Preact and ECharts, vendored, nothing fetched.
The page reads the same REST API as the clients, so it can do nothing a token could not do
there; ``shipway.server.ui`` serves it and signs the page in."""

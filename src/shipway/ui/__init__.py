"""The web UI: one page of static modules (Preact, ECharts; vendored, nothing fetched) that
reads the same REST API as the clients, so it can do nothing a token could not do there."""

"""Pipelines: ``@sw.step`` and ``@sw.pipeline`` on plain functions, run as tracked runs with
one nested run per step, a step cache, retries, and independent steps in parallel."""

"""Prefect flows: thin wiring over the jobs of `schoolhouse.jobs.JOBS`, one per job (`generate`:
one for every lesson kind). Only this package imports prefect; it never imports the CLI."""

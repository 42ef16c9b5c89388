"""Prefect flows: thin wiring over schoolhouse, one per job. Only this package imports prefect."""

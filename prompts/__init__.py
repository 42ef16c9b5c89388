"""Prompt templates and the word / feature lists they draw from (data; see SOURCES.md)."""

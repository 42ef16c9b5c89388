"""Data on disk: record types, resumable dataset folders, cards, readers of web input, merging and publishing."""

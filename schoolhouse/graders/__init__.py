"""Judging text: the LLM annotator, the quality classifier, the web filter, near-duplicate removal and benchmark decontamination."""

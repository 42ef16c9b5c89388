"""Self-training (ReST-EM): the teacher learns from its own answers that a binary check accepts.

tasks.py (problems, rewards) -> sampling.py (a rewarded round of answers) -> finetune.py (LoRA,
DoRA or full, merged into a model folder) -> loop.py (iterations, scores, iterations.json).
"""

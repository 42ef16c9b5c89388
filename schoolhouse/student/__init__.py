"""The student: a small Llama-style model pretrained from scratch on what the graders kept.

tokenizer.py (byte-level BPE) → data.py (token shards, splits, batches) → model.py → train.py
(WSD, checkpoints, resume) → evaluate.py (loss, samples, GPT-Eval) → report.py. Importing this
package does not import torch.
"""

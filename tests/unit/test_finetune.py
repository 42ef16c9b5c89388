"""Fine-tuning the embedded 135M teacher for a few steps: the loss covers the answer only, the
merged folder's weights differ from the base, DoRA works, and a killed fine-tune resumes from
its checkpoint to the same weights as an uninterrupted one."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from schoolhouse.selftrain.finetune import CHECKPOINT, MANIFEST, Example, Tuning, finetune, tokenize
from schoolhouse.teacher.embedded import model_dir

EXAMPLES = [
    Example(({"role": "user", "content": f"Name a colour for the number {i}."},),
            f"The colour for {i} is {c}.")
    for i, c in enumerate(["red", "blue", "green", "yellow"])
]  # fmt: skip
TUNING = Tuning(batch=2, max_length=128, checkpoint_every=1, lr=1e-3)


@pytest.fixture(scope="module")
def base():
    return model_dir("embedded")


def weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_only_the_answer_and_its_end_of_turn_are_learned(base):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    ids, labels = tokenize(tokenizer, EXAMPLES[0], 256)
    learned = tokenizer.decode([t for t, y in zip(ids, labels, strict=True) if y != -100])
    assert learned.startswith("The colour for 0 is red.")
    assert "Name a colour" not in learned and "<|im_end|>" in learned
    assert len(tokenize(tokenizer, EXAMPLES[0], 8)[0]) == 8  # cut at max_length


def test_a_lora_fine_tune_changes_the_merged_weights(base, tmp_path):
    stats = finetune(base, EXAMPLES, tmp_path / "t1", TUNING, progress=False)
    before, after = weights(base), weights(tmp_path / "t1")
    assert before.keys() == after.keys()
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert any("q_proj" in k for k in changed) and any("mlp" in k for k in changed)
    assert not any("norm" in k for k in changed)  # LoRA touches linear layers only
    assert after[changed[0]].dtype == before[changed[0]].dtype  # saved in the base's dtype
    assert stats["steps"] == 2 and stats["loss_last"] < stats["loss_first"]
    assert json.loads((tmp_path / "t1" / MANIFEST).read_text())["examples"] == 4
    assert not (tmp_path / f"t1{CHECKPOINT}").exists()
    # the same fine-tune again is already done: nothing is retrained
    assert (
        finetune(base, EXAMPLES, tmp_path / "t1", TUNING, progress=False)["train_s"]
        == stats["train_s"]
    )
    with pytest.raises(FileExistsError, match="another fine-tune"):
        finetune(base, EXAMPLES[:2], tmp_path / "t1", TUNING, progress=False)


def test_a_killed_fine_tune_resumes_from_its_checkpoint(base, tmp_path, monkeypatch):
    finetune(base, EXAMPLES, tmp_path / "whole", TUNING, progress=False)
    real = torch.nn.utils.clip_grad_norm_
    calls = {"n": 0}

    def dies_on_second_step(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", dies_on_second_step)
    with pytest.raises(KeyboardInterrupt):
        finetune(base, EXAMPLES, tmp_path / "killed", TUNING, progress=False)
    assert (tmp_path / f"killed{CHECKPOINT}" / "state.json").exists()
    assert not (tmp_path / "killed").exists()  # nothing half-written where the model goes
    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", real)
    messages: list[str] = []
    stats = finetune(
        base, EXAMPLES, tmp_path / "killed", TUNING, progress=False, log=messages.append
    )
    assert messages == [f"fine-tune: resuming {tmp_path / 'killed'} from step 1 of 2"]
    whole, resumed = weights(tmp_path / "whole"), weights(tmp_path / "killed")
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], atol=1e-2, rtol=0)
    assert len(stats["losses"]) == 2


def test_dora_trains_and_merges(base, tmp_path):
    finetune(base, EXAMPLES[:2], tmp_path / "dora", Tuning(method="dora", batch=2, max_length=64),
             progress=False)  # fmt: skip
    before, after = weights(base), weights(tmp_path / "dora")
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_the_loop_fine_tunes_in_a_child_process(base, tmp_path):
    """What training held (the model, its optimizer) leaves with the child: the run's process
    starts the next engine without it."""
    from schoolhouse.selftrain.finetune import finetune_apart

    stats = finetune_apart(base, EXAMPLES[:2], tmp_path / "apart", Tuning(batch=2, max_length=64),
                           progress=False)  # fmt: skip
    assert stats["steps"] == 1 and (tmp_path / "apart" / MANIFEST).exists()

"""Checkpoint integrity: a damaged, cut short, empty or foreign file is refused, naming it."""

import hashlib
import io
import pickle
import re

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.checkpoint import MAGIC, CorruptCheckpoint, load_checkpoint, save_checkpoint
from rnnbook.history import History
from rnnbook.models import BigramLM
from rnnbook.tasks.lm import LanguageModelLoss
from rnnbook.train import train

WHAT_TO_DO = "delete it and start a fresh run"


def saved(tmp_path, name="ck.pt"):
    """A checkpoint of a small linear model with distinctive weights, and the model."""
    torch.manual_seed(0)
    model = nn.Linear(8, 8)
    with torch.no_grad():
        model.weight.copy_(torch.linspace(-1, 1, 64).view(8, 8))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / name
    save_checkpoint(path, model, opt, 3, History(step=[3], items=[3], time=[0.1],
                                                 train_loss=[1.0], val_loss=[None],
                                                 items_per_sec=[30.0]))
    return path, model


def refused(path, match):
    """Loading ``path`` raises CorruptCheckpoint naming the file, the problem and the remedy;
    the model it was loading into keeps its weights."""
    target = nn.Linear(8, 8)
    before = target.weight.detach().clone()
    with pytest.raises(CorruptCheckpoint, match=match) as err:
        load_checkpoint(path, target, torch.optim.SGD(target.parameters(), lr=0.1))
    assert str(path) in str(err.value) and WHAT_TO_DO in str(err.value)
    assert isinstance(err.value, ValueError)
    assert torch.equal(target.weight, before)


def test_a_checkpoint_loads_back_exactly(tmp_path):
    path, model = saved(tmp_path)
    assert path.read_bytes().startswith(MAGIC)
    other = nn.Linear(8, 8)
    step, hist = load_checkpoint(path, other)
    assert step == 3 and hist.step == [3]
    assert torch.equal(other.weight, model.weight) and torch.equal(other.bias, model.bias)


def test_a_bit_flipped_in_the_weights_is_refused(tmp_path):
    """The weights' bytes are found in the file and one bit in their middle is flipped: loaded
    as it is, one weight would change silently; the checksum refuses the file."""
    path, model = saved(tmp_path)
    raw = bytearray(path.read_bytes())
    weights = model.weight.detach().numpy().tobytes()
    at = raw.find(weights)
    assert at > 0 and raw.find(weights, at + 1) == -1  # the tensor data, once
    raw[at + len(weights) // 2 + 3] ^= 0x40  # an exponent bit of one float32
    path.write_bytes(bytes(raw))
    refused(path, "checksum")


def test_every_single_bit_flip_is_refused_never_loaded(tmp_path):
    """A bit flipped anywhere (header, checksum, length, pickle, tensor data) is refused with
    CorruptCheckpoint: no flip loads, let alone loads other weights."""
    path, _ = saved(tmp_path)
    raw = path.read_bytes()
    damaged = tmp_path / "damaged.pt"
    # every byte of the header, then a byte in 31 through the pickles and the tensor data
    flips = list(range(len(MAGIC) + 40 + 1)) + list(range(0, len(raw), 31)) + [len(raw) - 1]
    for k, at in enumerate(sorted(set(flips))):
        copy = bytearray(raw)
        copy[at] ^= 1 << (k % 8)
        damaged.write_bytes(bytes(copy))
        with pytest.raises(CorruptCheckpoint, match=re.escape(str(damaged))):
            load_checkpoint(damaged, nn.Linear(8, 8))


@pytest.mark.parametrize("keep", [1, len(MAGIC) + 10, 0.5, -1], ids=[
    "one byte", "inside the header", "half", "all but the last byte"])
def test_a_truncated_checkpoint_is_refused(tmp_path, keep):
    path, _ = saved(tmp_path)
    raw = path.read_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep % len(raw)
    path.write_bytes(raw[:n])
    refused(path, "cut short" if n >= len(MAGIC) else "does not start with the header")


def test_an_empty_checkpoint_is_refused(tmp_path):
    path, _ = saved(tmp_path)
    path.write_bytes(b"")
    refused(path, "empty")


def test_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("epoch 3: loss 1.23\n")
    refused(path, r"does not start with the header.*another kind of file")


def test_resuming_from_a_damaged_checkpoint_is_refused(tmp_path):
    ckpt = tmp_path / "run.pt"
    data = rnnbook.StreamBatches(torch.arange(400) % 5, 4, 10)

    def run(**kw):
        model = BigramLM(5)
        train(model, data, LanguageModelLoss(), steps=4, checkpoint=ckpt, progress=False,
              log=None, **kw)
        return model

    run()
    raw = bytearray(ckpt.read_bytes())
    raw[len(raw) // 2] ^= 0x10
    ckpt.write_bytes(bytes(raw))
    for resume in (True, "if-exists"):  # never a silent fresh start over a damaged file
        with pytest.raises(CorruptCheckpoint, match=re.escape(str(ckpt))):
            run(resume=resume)


class Payload:
    """Unpickling this calls ``print``: code, not data."""

    def __reduce__(self):
        return print, ("pwned",)


def test_code_in_a_checkpoint_with_a_valid_checksum_is_still_refused(tmp_path):
    """The checksum proves the bytes are those written, not that they are safe: the payload
    is still read with weights_only=True."""
    buffer = io.BytesIO()
    torch.save({"model": Payload(), "step": 0, "history": History().to_dict()}, buffer)
    payload = buffer.getvalue()
    path = tmp_path / "evil.pt"
    path.write_bytes(MAGIC + hashlib.sha256(payload).digest()
                     + len(payload).to_bytes(8, "little") + payload)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        load_checkpoint(path, nn.Linear(8, 8))


def test_a_checkpoint_without_checksum_still_loads_with_a_warning(tmp_path):
    """Files written before checksums (a bare torch.save of the dict) stay readable."""
    model = nn.Linear(8, 8)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "old.pt"
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 7,
                "history": History().to_dict()}, path)
    other = nn.Linear(8, 8)
    with pytest.warns(UserWarning, match="no checksum"):
        step, _ = load_checkpoint(path, other, torch.optim.SGD(other.parameters(), lr=0.1))
    assert step == 7 and torch.equal(other.weight, model.weight)

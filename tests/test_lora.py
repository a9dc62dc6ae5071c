"""LoRA (rnnbook.layers.lora): W + (alpha/r) B A with W frozen, on torch's LSTM, Linear and
Embedding, the book's own LSTM and the text classifier's encoder."""

import copy
import io

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import rnnbook
from rnnbook.finetune import count_trainable, freeze
from rnnbook.layers import LSTM, add_lora, lora_parameters, merge_lora, weight_matrices
from rnnbook.models import TextClassifier
from rnnbook.tasks.classify import batches
from rnnbook.tasks.losses import ClassificationLoss
from rnnbook.train import train


def lstm(scratch=False, **kw):
    torch.manual_seed(0)
    cls = LSTM if scratch else nn.LSTM
    return cls(5, 7, batch_first=True, **kw).double()


def inputs():
    return torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def fit(module, steps=30, lr=0.05):
    """Train the LoRA factors of an LSTM towards a random target with SGD."""
    x = inputs()
    target = torch.randn(3, 4, 7, generator=torch.Generator().manual_seed(2), dtype=x.dtype)
    opt = torch.optim.SGD(lora_parameters(module), lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        ((module(x)[0] - target) ** 2).mean().backward()
        opt.step()
    return module


@pytest.mark.parametrize("scratch", [False, True], ids=["torch", "book"])
def test_starts_as_the_base_model_and_only_a_b_train(scratch):
    rnn = lstm(scratch)
    x = inputs()
    base, _ = rnn(x)
    frozen = {n: p for n, p in rnn.named_parameters() if n.startswith("weight")}
    assert add_lora(rnn, rank=2) is rnn
    assert torch.equal(rnn(x)[0], base)                        # B = 0: W' = W at the start
    rnn(x)[0].pow(2).sum().backward()
    for name, w in frozen.items():                             # the base weights themselves
        assert w is rnn.parametrizations[name].original
        assert not w.requires_grad and w.grad is None
    a_b = lora_parameters(rnn)
    assert len(a_b) == 4 and all(p.requires_grad and p.grad is not None for p in a_b)
    assert all(p.grad.abs().sum() > 0 for p in a_b[1::2])      # dL/dB != 0 (dL/dA = 0 at B = 0)


def test_the_update_has_rank_at_most_r_and_the_base_does_not_move():
    rnn = lstm()
    before = {n: p.detach().clone() for n, p in rnn.named_parameters()}
    fit(add_lora(rnn, rank=3))
    for name in ("weight_ih_l0", "weight_hh_l0"):
        assert torch.equal(rnn.parametrizations[name].original, before[name])
        delta = getattr(rnn, name) - before[name]
        assert delta.abs().max() > 1e-3
        assert torch.linalg.matrix_rank(delta) == 3             # r, no more
    assert torch.equal(rnn.bias_ih_l0, before["bias_ih_l0"])  # not in the optimiser


def test_merge_gives_the_same_outputs_and_plain_weights():
    rnn = fit(add_lora(lstm(), rank=2))
    x = inputs()
    with torch.no_grad():
        tuned, (h, c) = rnn(x)
    assert merge_lora(rnn) is rnn
    assert not parametrize.is_parametrized(rnn) and lora_parameters(rnn) == []
    assert sorted(n for n, _ in rnn.named_parameters()) == sorted(
        ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"])
    assert all(p.requires_grad for p in rnn.parameters())      # the weights train again
    with torch.no_grad():
        merged, (h2, c2) = rnn(x)
    assert (merged - tuned).abs().max() < 1e-6
    assert (h2 - h).abs().max() < 1e-6 and (c2 - c).abs().max() < 1e-6
    frozen = lstm()
    freeze(frozen)
    assert not merge_lora(add_lora(frozen)).weight_ih_l0.requires_grad  # frozen before: stays


def test_trainable_count_is_r_times_in_plus_out_per_matrix():
    rank = 4
    rnn = add_lora(lstm(), rank=rank)
    in_out = [(5, 28), (7, 28)]                                # (in, out = 4H) of W_ih, W_hh
    assert sum(p.numel() for p in lora_parameters(rnn)) == sum(rank * (i + o) for i, o in in_out)
    assert count_trainable(rnn) == sum(rank * (i + o) for i, o in in_out) + 2 * 28  # + biases
    lin = add_lora(nn.Linear(10, 6), names=("weight",), rank=2)
    assert count_trainable(lin) == 2 * (10 + 6) + 6


def test_linear_and_embedding_and_alpha_scale():
    torch.manual_seed(0)
    lin, emb = nn.Linear(6, 4), nn.Embedding(9, 3)
    x, ids = torch.randn(2, 6), torch.tensor([[1, 2], [8, 0]])
    y, e = lin(x), emb(ids)
    add_lora(lin, names=("weight",), rank=2, alpha=8)
    add_lora(emb, names=("weight",), rank=1)
    assert torch.equal(lin(x), y) and torch.equal(emb(ids), e)
    lora = lin.parametrizations.weight[0]
    assert lora.scale == 4.0 and emb.parametrizations.weight[0].scale == 1.0
    with torch.no_grad():
        lora.B.fill_(1.0)
    expected = lin.parametrizations.weight.original + 4.0 * lora.B @ lora.A
    assert torch.allclose(lin.weight, expected)


def test_every_weight_matrix_of_a_bidirectional_lstm():
    rnn = lstm(bidirectional=True, num_layers=2)
    assert len(weight_matrices(rnn)) == 8
    add_lora(rnn, names=None, rank=2)
    assert len(lora_parameters(rnn)) == 16
    assert weight_matrices(nn.LSTM(3, 4)) == ("weight_ih_l0", "weight_hh_l0")


def test_state_dict_and_deepcopy_carry_the_update():
    rnn = fit(add_lora(lstm(), rank=2))
    buf = io.BytesIO()
    torch.save(rnn.state_dict(), buf)
    buf.seek(0)
    other = add_lora(lstm(), rank=2)
    other.load_state_dict(torch.load(buf, weights_only=True))
    x = inputs()
    assert torch.equal(other(x)[0], rnn(x)[0])
    twin = copy.deepcopy(rnn)                      # after a forward pass (torch's flat weights)
    assert torch.equal(twin(x)[0], rnn(x)[0])
    fit(twin)
    assert not torch.equal(twin(x)[0], rnn(x)[0])  # its own A, B
    merge_lora(rnn)
    assert not rnn._forward_hooks                  # a plain LSTM again
    assert torch.equal(copy.deepcopy(rnn)(x)[0], rnn(x)[0])


@pytest.mark.parametrize("kw, match", [
    ({"rank": 0}, "rank"), ({"rank": 1.5}, "rank"), ({"rank": -2}, "rank"),
    ({"names": ("weight_ih_l1",)}, "no weight 'weight_ih_l1'.*weight_ih_l0, weight_hh_l0"),
    ({"names": ("bias_ih_l0",)}, "2-D"), ({"names": "weight_ih_l0"}, "sequence"),
    ({"names": ()}, "sequence"), ({"alpha": 0}, "alpha"),
])
def test_bad_arguments_are_refused(kw, match):
    rnn = nn.LSTM(3, 4)
    with pytest.raises(ValueError, match=match):
        add_lora(rnn, **kw)
    assert not parametrize.is_parametrized(rnn) and rnn.weight_ih_l0.requires_grad  # unchanged


def test_added_twice_is_refused():
    rnn = add_lora(nn.LSTM(3, 4))
    with pytest.raises(ValueError, match="already"):
        add_lora(rnn)


def test_text_classifier_encoder_with_rnnbook_train():
    """The classification chapter's model: LoRA on both directions of ``encoder.rnn``, the rest
    frozen except the head; a real train run moves only A, B and the head; merged, it gives
    the same logits."""
    rnnbook.seed_everything(0)
    model = TextClassifier(20, 2, embed_size=8, hidden_size=8, pooling="max")
    g = torch.Generator().manual_seed(0)
    ids = [torch.randint(1, 20, (int(n),), generator=g).tolist()
           for n in torch.randint(2, 9, (24,), generator=g)]
    labels = [int(i[0] < 10) for i in ids]
    data = batches(ids, labels, 8)
    x, lengths, _ = next(iter(batches(ids, labels, 24, shuffle=False)))
    model.eval()
    with torch.no_grad():
        base = model(x, lengths)
    freeze(model)
    add_lora(model.encoder.rnn, names=None, rank=2)
    for p in model.out.parameters():
        p.requires_grad_(True)
    with torch.no_grad():
        assert torch.equal(model(x, lengths), base)
    assert count_trainable(model) == 4 * 2 * (8 + 32) + (16 * 2 + 2)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    train(model, data, ClassificationLoss(), epochs=3, lr=0.05, progress=False, log=None)
    moved = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert moved == {n for n, p in model.named_parameters() if p.requires_grad}
    assert any(".A" in n for n in moved) and "out.weight" in moved
    assert not any("original" in n or n.startswith("embed") for n in moved)
    model.eval()
    with torch.no_grad():
        tuned = model(x, lengths)
        assert (tuned - base).abs().max() > 1e-4
        merge_lora(model.encoder.rnn)
        assert (model(x, lengths) - tuned).abs().max() < 1e-6

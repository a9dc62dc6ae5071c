"""The scratch RNN computes what torch.nn.RNN computes; the character LM trains and samples."""

import itertools
import math

import parity
import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.layers import GRU, LSTM, RNN, RNNCell, masked_run
from rnnbook.models import CharLM, charlm_parameters, count_parameters

CASES = list(itertools.product([1, 2], ["tanh", "relu"], [False, True], [False, True]))


def twins(num_layers, nonlinearity, batch_first, dtype, bidirectional=False, bias=True):
    return parity.twins(RNN, nn.RNN, dtype, num_layers=num_layers, nonlinearity=nonlinearity,
                        batch_first=batch_first, bidirectional=bidirectional, bias=bias)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layers,act,batch_first,with_h0", CASES)
def test_parity_with_torch(layers, act, batch_first, with_h0, dtype):
    parity.check_parity(RNN, nn.RNN, dtype, layers, batch_first, with_h0, nonlinearity=act)


@pytest.mark.parametrize("bidirectional,bias", [(True, True), (False, False)])
def test_parity_bidirectional_and_without_bias(bidirectional, bias):
    ours, ref = twins(2, "tanh", False, torch.float64, bidirectional, bias)
    d = 2 if bidirectional else 1
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    h0 = torch.randn(2 * d, 3, 5, dtype=torch.float64)
    mine, theirs = parity.run_both(ours, ref, x, h0)
    assert mine.out.shape == (6, 3, 5 * d)
    parity.assert_same(mine, theirs, 1e-10)


def test_unbatched_input_matches_torch():
    ours, ref = twins(2, "tanh", True, torch.float64)
    x, h0 = torch.randn(6, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    (o1, h1), (o2, h2) = ours(x, h0), ref(x, h0)
    assert o1.shape == (6, 5) and h1.shape == (2, 5)
    torch.testing.assert_close(o1, o2)
    torch.testing.assert_close(h1, h2)


def test_state_dict_loads_both_ways():
    ours = RNN(4, 6, num_layers=2)
    ref = nn.RNN(4, 6, num_layers=2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ours.load_state_dict(ref.state_dict())  # strict: same names and shapes
    for (n1, p1), (n2, p2) in zip(ours.named_parameters(), ref.named_parameters()):
        assert n1 == n2 and torch.equal(p1, p2)
    fresh = RNN(4, 6, num_layers=2)
    ref.load_state_dict(fresh.state_dict())
    x = torch.randn(5, 2, 4)
    torch.testing.assert_close(fresh(x)[0], ref(x)[0], atol=1e-6, rtol=1e-5)


def test_initialisation_like_pytorch():
    torch.manual_seed(0)
    layer = RNN(10, 64, num_layers=2)
    bound = 64 ** -0.5
    for p in layer.parameters():
        assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound


def test_cell_matches_torch_cell():
    for act in ("tanh", "relu"):
        ours, ref = RNNCell(3, 5, nonlinearity=act), nn.RNNCell(3, 5, nonlinearity=act)
        ref.load_state_dict(ours.state_dict())
        x, h = torch.randn(4, 3), torch.randn(4, 5)
        torch.testing.assert_close(ours(x, h), ref(x, h))
        torch.testing.assert_close(ours(x), ref(x))


def test_layer_is_the_cell_applied_along_time():
    layer = RNN(3, 5)
    cell = RNNCell(3, 5)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = torch.randn(4, 2, 3)
    h, steps = None, []
    for t in range(4):
        h = cell(x[t], h)
        steps.append(h)
    torch.testing.assert_close(layer(x)[0], torch.stack(steps))


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    layer = RNN(3, 8, num_layers=2, dropout=0.5)
    x = torch.randn(5, 2, 3)
    layer.eval()
    torch.testing.assert_close(layer(x)[0], layer(x)[0])
    layer.train()
    assert not torch.allclose(layer(x)[0], layer(x)[0])


@pytest.mark.parametrize("make,match", [
    (lambda m: m(torch.randn(2, 3, 4, 3)), "3 dimensions"),
    (lambda m: m(torch.randn(2, 3, 7)), "input_size=3"),
    (lambda m: m(torch.randn(2, 3, 3), torch.zeros(1, 3, 5)), r"shape \(2, 3, 5\)"),
    (lambda m: m(torch.randn(0, 3, 3)), "no time steps"),
])
def test_clear_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make(RNN(3, 5, num_layers=2))


def test_cell_state_must_match_the_batch():
    cell = RNNCell(3, 5)
    with pytest.raises(ValueError, match=r"expected a state of shape \(2, 5\).*got \(1, 5\)"):
        cell(torch.randn(2, 3), torch.zeros(1, 5))  # would broadcast over the batch
    with pytest.raises(ValueError, match=r"expected a state of shape \(5,\).*got \(1, 5\)"):
        cell(torch.randn(3), torch.zeros(1, 5))  # unbatched input, batched state
    with pytest.raises(ValueError, match=r"\(batch, features\)"):
        cell(torch.randn(2, 4, 3))
    assert cell(torch.randn(3), torch.zeros(5)).shape == (5,)


def indexing_grad_elements(*outputs: torch.Tensor) -> int:
    """Elements of the full-size gradients that indexing nodes (``x[t]``, ``x[t:t + 1]``) of
    the graph behind ``outputs`` write in the backward pass: each writes a gradient the size
    of the tensor it indexes, so one per time step makes the backward pass quadratic in T."""
    seen, todo, total = set(), [o.grad_fn for o in outputs], 0
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        if type(node).__name__ in ("SelectBackward0", "SliceBackward0"):
            total += math.prod(node._saved_self_sym_sizes)
        todo.extend(fn for fn, _ in node.next_functions)
    return total


@pytest.mark.parametrize("masked", [False, True], ids=["plain", "masked_run"])
@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_backward_work_is_linear_in_time(cls, masked):
    torch.manual_seed(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True)

    def work(steps):
        x = torch.randn(steps, 2, 3)
        out, _ = masked_run(layer, x, [steps, steps - 1]) if masked else layer(x)
        return indexing_grad_elements(out)

    projections = lambda steps: steps * 2 * cls.gates * 4 * 2 * 2  # noqa: E731  (T B GH D L)
    # at most one gradient the size of the input projections, not one per step
    assert work(8) <= projections(8) and work(16) <= projections(16)
    assert work(16) <= 2.5 * work(8)  # linear in T (quadratic would give 4x)


def test_clear_constructor_errors():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNN(3, 5, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        RNN(3, 0)
    with pytest.raises(ValueError, match="kind must be one of"):
        CharLM(10, 4, 8, cell="transformer")
    with pytest.raises(TypeError, match="recurrent module"):
        CharLM(10, 4, 8, cell=nn.RNN)
    with pytest.raises(ValueError, match="batch_first"):
        CharLM(10, 4, cell=nn.RNN(4, 8))


@pytest.mark.parametrize("cell,scratch", [("rnn", True), ("rnn", False), ("lstm", False),
                                          ("gru", False), ("lstm", True), ("gru", True)])
def test_charlm_shapes_and_parameter_count(cell, scratch):
    model = CharLM(11, 6, 16, num_layers=2, cell=cell, scratch=scratch)
    assert isinstance(model.rnn, (RNN, LSTM, GRU) if scratch else nn.RNNBase)
    logits, state = model(torch.randint(0, 11, (3, 9)))
    assert logits.shape == (3, 9, 11)
    h = state[0] if isinstance(state, tuple) else state
    assert h.shape == (2, 3, 16)
    gates = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    assert count_parameters(model) == charlm_parameters(11, 6, 16, 2, gates)


def test_charlm_takes_a_ready_module():
    model = CharLM(11, 6, cell=RNN(6, 7, batch_first=True))
    assert model(torch.randint(0, 11, (2, 5)))[0].shape == (2, 5, 11)


@pytest.mark.parametrize("cell,scratch", [("rnn", True), ("lstm", False)])
def test_charlm_state_carries_across_chunks(cell, scratch):
    torch.manual_seed(0)
    model = CharLM(11, 6, 16, num_layers=2, cell=cell, scratch=scratch).double()
    ids = torch.randint(0, 11, (3, 12))
    whole, state_whole = model(ids)
    first, state = model(ids[:, :5])
    second, state_split = model(ids[:, 5:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole)
    torch.testing.assert_close(state_split, state_whole)


def test_charlm_learns_and_samples_a_tiny_corpus():
    rnnbook.seed_everything(0)
    text = "the cat sat on the mat. " * 40
    vocab = rnnbook.Vocab.build(rnnbook.char_tokenize(text), specials=())
    ids = torch.tensor(vocab.encode(text))
    model = CharLM(len(vocab), 8, 32)
    batches = rnnbook.StreamBatches(ids, batch_size=4, seq_len=16)
    loss_fn = rnnbook.LanguageModelLoss(stateful=True)
    before = rnnbook.evaluate(model, batches, loss_fn.fresh())
    history = rnnbook.train(model, batches, loss_fn, steps=60, lr=1e-2, progress=False, log=None)
    after = rnnbook.evaluate(model, batches, loss_fn.fresh())
    assert not history.diverged and after < 0.5 * before
    gen = torch.Generator().manual_seed(0)
    out = rnnbook.generate(model, vocab.encode("the "), steps=30, temperature=0.5, top_k=3,
                           generator=gen)
    assert len(out) == 30 and all(0 <= i < len(vocab) for i in out)
    assert "".join(vocab.decode(out)).count("at") >= 2  # it has learnt the corpus' words

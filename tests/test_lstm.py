"""The scratch LSTM computes what torch.nn.LSTM computes; gates can be recorded."""

import itertools

import parity
import pytest
import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from rnnbook.layers import LSTM, LSTMCell, record_gates, set_forget_bias
from rnnbook.models import CharLM
from rnnbook.probes import gradient_by_distance

CASES = list(itertools.product([1, 2], [False, True], [False, True], [False, True]))


def twins(num_layers, batch_first, dtype, bidirectional=False, bias=True):
    return parity.twins(LSTM, nn.LSTM, dtype, num_layers=num_layers, batch_first=batch_first,
                        bidirectional=bidirectional, bias=bias)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layers,batch_first,with_state,bidirectional", CASES)
def test_parity_with_torch(layers, batch_first, with_state, bidirectional, dtype):
    parity.check_parity(LSTM, nn.LSTM, dtype, layers, batch_first, with_state, bidirectional,
                        state_size=2)


def test_parity_without_bias_and_unbatched():
    ours, ref = twins(2, False, torch.float64, bias=False)
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    parity.assert_same(*parity.run_both(ours, ref, x, None), 1e-10)
    x1 = torch.randn(6, 3, dtype=torch.float64)
    (o1, (h1, c1)), (o2, (h2, c2)) = ours(x1), ref(x1)
    assert o1.shape == (6, 5) and h1.shape == c1.shape == (2, 5)
    for a, b in [(o1, o2), (h1, h2), (c1, c2)]:
        torch.testing.assert_close(a, b)


def test_state_dict_loads_both_ways():
    ours, ref = LSTM(4, 6, num_layers=2), nn.LSTM(4, 6, num_layers=2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert all(a.shape == b.shape for a, b in zip(ours.parameters(), ref.parameters()))
    ours.load_state_dict(ref.state_dict())  # strict: same names and shapes
    x = torch.randn(5, 2, 4)
    torch.testing.assert_close(ours(x)[0], ref(x)[0], atol=1e-6, rtol=1e-5)
    fresh = LSTM(4, 6, num_layers=2)
    ref.load_state_dict(fresh.state_dict())
    torch.testing.assert_close(fresh(x)[0], ref(x)[0], atol=1e-6, rtol=1e-5)


def test_gate_order_matters():
    """Loading the blocks in the wrong order (say i, f, o, g) gives a different function."""
    ours, ref = twins(1, False, torch.float64)
    state = ref.state_dict()
    swap = {k: torch.cat([v.chunk(4)[j] for j in (0, 1, 3, 2)]) for k, v in state.items()}
    ref.load_state_dict(swap)
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    assert not torch.allclose(ours(x)[0], ref(x)[0], atol=1e-3)


def test_cell_matches_torch_cell_and_layer():
    ours, ref = LSTMCell(3, 5).double(), nn.LSTMCell(3, 5).double()
    ref.load_state_dict(ours.state_dict())
    x, hx = torch.randn(4, 3).double(), (torch.randn(4, 5).double(), torch.randn(4, 5).double())
    for a, b in zip(ours(x, hx), ref(x, hx)):
        torch.testing.assert_close(a, b)
    for a, b in zip(ours(x[0]), ref(x[0])):  # unbatched, zero state
        torch.testing.assert_close(a, b)
    layer = LSTM(3, 5).double()
    layer.load_state_dict({k + "_l0": v for k, v in ours.state_dict().items()})
    seq, state, steps = torch.randn(6, 2, 3).double(), None, []
    for t in range(6):
        state = ours(seq[t], state)
        steps.append(state[0])
    torch.testing.assert_close(layer(seq)[0], torch.stack(steps))


def test_cell_state_must_be_a_pair_of_the_batch_shape():
    cell = LSTMCell(3, 5)
    x, h, c = torch.randn(2, 3), torch.zeros(2, 5), torch.zeros(2, 5)
    with pytest.raises(ValueError, match=r"tuple \(h, c\).*got a tensor of shape \(2, 5\)"):
        cell(x, h)  # one tensor: its rows would be taken as h and c
    with pytest.raises(ValueError, match=r"tuple \(h, c\).*length 1"):
        cell(x, (h,))
    with pytest.raises(ValueError, match=r"expected a state of shape \(2, 5\).*got \(1, 5\)"):
        cell(x, (torch.zeros(1, 5), c))  # would broadcast over the batch
    with pytest.raises(ValueError, match=r"expected a state of shape \(2, 5\).*got \(1, 5\)"):
        cell(x, (h, torch.zeros(1, 5)))
    h1, c1 = cell(x, [h, c])  # a list is a pair too, as in torch
    assert h1.shape == c1.shape == (2, 5)


class CountStacks(TorchFunctionMode):
    """Counts the calls of ``torch.stack`` in its block (recording gates stacks every gate)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.count += func is torch.stack
        return func(*args, **(kwargs or {}))


def test_gates_are_an_explicit_argument_not_an_attribute():
    torch.manual_seed(0)
    layer = LSTM(3, 5, num_layers=2, bidirectional=True, dropout=0.5)  # in training mode
    x = torch.randn(7, 4, 3)
    attributes = set(vars(layer))
    with torch.no_grad():
        out = layer.eval()(x)[0]
    layer.train()
    gates = record_gates(layer, x)
    assert set(vars(layer)) == attributes and layer.training and torch.is_grad_enabled()
    with torch.no_grad():
        torch.testing.assert_close(layer.eval()(x)[0], out, atol=0, rtol=0)
        log = []
        out_logged = layer(x, gates=log)[0]  # keyword-only, beyond torch.nn's signature
    torch.testing.assert_close(out_logged, out, atol=0, rtol=0)
    assert len(log) == 4 and set(log[0]) == set(gates) and log[1]["input"].shape == (7, 4, 5)
    torch.testing.assert_close(log[0]["forget"], gates["forget"][0])
    torch.testing.assert_close(log[1]["forget"].flip(0), gates["forget"][1])  # backward
    layer._gate_log = []  # the old hidden attribute records nothing any more
    with CountStacks() as plain:
        layer(x)
    assert layer._gate_log == []
    # a plain forward stacks only the outputs (one per layer and direction) and the states
    assert plain.count == 4 + 2
    with CountStacks() as recording:
        layer(x, gates=[])
    assert recording.count == plain.count + 4 * 4  # plus four gates per layer and direction
    with pytest.raises(TypeError, match="list"):
        layer(x, gates={})


def test_hand_computed_step():
    """One step of the equations written out, with a (2, 1) cell and round numbers."""
    cell = LSTMCell(1, 1, bias=False).double()
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1.0], [2.0], [3.0], [4.0]]))  # i, f, g, o
        cell.weight_hh.zero_()
    x, c0 = torch.tensor([[0.5]]).double(), torch.tensor([[2.0]]).double()
    h, c = cell(x, (torch.zeros(1, 1).double(), c0))
    s = lambda v: 1 / (1 + torch.exp(-torch.tensor(v).double()))  # noqa: E731
    c_want = s(1.0) * 2.0 + s(0.5) * torch.tanh(torch.tensor(1.5).double())
    torch.testing.assert_close(c[0, 0], c_want)
    torch.testing.assert_close(h[0, 0], s(2.0) * torch.tanh(c_want))


def test_forget_bias_works_on_both():
    for layer in (LSTM(3, 5, num_layers=2), nn.LSTM(3, 5, num_layers=2)):
        set_forget_bias(layer, 1.0)
        for k in range(2):
            b = getattr(layer, f"bias_ih_l{k}") + getattr(layer, f"bias_hh_l{k}")
            assert torch.equal(b[5:10], torch.ones(5))
            assert not torch.equal(b[:5], torch.ones(5))  # other gates untouched


@pytest.mark.parametrize("torch_layer", [False, True])
@pytest.mark.parametrize("batch_first,bidirectional", [(False, False), (True, True)])
def test_record_gates(torch_layer, batch_first, bidirectional):
    torch.manual_seed(0)
    cls = nn.LSTM if torch_layer else LSTM
    layer = cls(3, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    d = 2 if bidirectional else 1
    x = torch.randn(4, 7, 3) if batch_first else torch.randn(7, 4, 3)
    gates = record_gates(layer, x)
    assert set(gates) == {"input", "forget", "cell", "output"}
    for name, g in gates.items():
        assert g.shape == (2 * d,) + x.shape[:2] + (5,)
        lo = 0 if name != "cell" else -1
        assert g.min() > lo and g.max() < 1
    assert not hasattr(layer, "_gate_log")
    # the recorded gates reproduce the layer's outputs: h_t = o_t * tanh(c_t)
    i, f, g, o = (gates[k] for k in ("input", "forget", "cell", "output"))
    tdim = 2 if batch_first else 1
    c = torch.zeros_like(i.select(tdim, 0))
    hs = []
    for t in range(7):
        c = f.select(tdim, t) * c + i.select(tdim, t) * g.select(tdim, t)
        hs.append(o.select(tdim, t) * torch.tanh(c))
    with torch.no_grad():
        out, (h_n, _) = layer(x)
    top = torch.stack(hs, tdim)[-d:]  # the top layer's directions, forward then backward
    if bidirectional:  # the backward direction runs from the end: redo it in its own order
        cb = torch.zeros_like(c[1])
        hb = [None] * 7
        for t in reversed(range(7)):
            cb = f[-1].select(1, t) * cb + i[-1].select(1, t) * g[-1].select(1, t)
            hb[t] = o[-1].select(1, t) * torch.tanh(cb)
        top = torch.stack([top[0], torch.stack(hb, 1)])
    torch.testing.assert_close(torch.cat(list(top), -1), out, atol=1e-6, rtol=1e-5)


def test_record_gates_unbatched_and_in_charlm():
    model = CharLM(11, 4, 6, cell="lstm", scratch=True)
    ids = torch.randint(0, 11, (1, 9))
    gates = record_gates(model.rnn, model.embed(ids))
    assert gates["forget"].shape == (1, 1, 9, 6)
    single = record_gates(LSTM(3, 5), torch.randn(9, 3))
    assert single["input"].shape == (1, 9, 5)
    with pytest.raises(TypeError, match="LSTM or a GRU"):
        record_gates(nn.RNN(3, 5), torch.randn(9, 3))


def test_gradient_by_distance():
    torch.manual_seed(0)
    model = CharLM(11, 4, 6, cell="lstm", scratch=True).double()
    ids = torch.randint(0, 11, (3, 9))
    g = gradient_by_distance(model, ids)
    assert g.shape == (3, 8) and (g > 0).all()
    # row 1 by hand: the loss of its last prediction, differentiated by its own embeddings
    e = model.embed(ids[1:2, :-1]).detach().requires_grad_(True)
    logits = model.out(model.rnn(e)[0][:, -1])
    torch.nn.functional.cross_entropy(logits, ids[1:2, -1]).backward()
    torch.testing.assert_close(g[1], e.grad[0].norm(dim=-1).flip(0))
    assert model.training  # left as it was

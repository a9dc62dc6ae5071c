"""The scratch GRU computes what torch.nn.GRU computes; Cho et al.'s GRU differs from it."""

import itertools

import parity
import pytest
import torch
from torch import nn

from rnnbook.layers import GRU, GRUCell, record_gates
from rnnbook.models import CharLM, charlm_parameters, count_parameters

CASES = list(itertools.product([1, 2], [False, True], [False, True], [False, True]))


def twins(num_layers, batch_first, dtype, bidirectional=False, bias=True):
    return parity.twins(GRU, nn.GRU, dtype, num_layers=num_layers, batch_first=batch_first,
                        bidirectional=bidirectional, bias=bias)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("layers,batch_first,with_h0,bidirectional", CASES)
def test_parity_with_torch(layers, batch_first, with_h0, bidirectional, dtype):
    parity.check_parity(GRU, nn.GRU, dtype, layers, batch_first, with_h0, bidirectional)


def test_parity_without_bias_and_unbatched():
    ours, ref = twins(2, False, torch.float64, bias=False)
    x = torch.randn(6, 3, 3, dtype=torch.float64)
    parity.assert_same(*parity.run_both(ours, ref, x, None), 1e-10)
    x1 = torch.randn(6, 3, dtype=torch.float64)
    (o1, h1), (o2, h2) = ours(x1), ref(x1)
    assert o1.shape == (6, 5) and h1.shape == (2, 5)
    torch.testing.assert_close(o1, o2)
    torch.testing.assert_close(h1, h2)


def test_state_dict_loads_both_ways():
    torch.manual_seed(0)
    x = torch.randn(5, 2, 4, dtype=torch.float64)
    for reset_after in (True, False):
        ours = GRU(4, 6, num_layers=2, reset_after=reset_after).double()
        ref = nn.GRU(4, 6, num_layers=2).double()
        assert list(ours.state_dict()) == list(ref.state_dict())
        ours.load_state_dict(ref.state_dict())  # torch -> ours
        for (n1, p1), (n2, p2) in zip(ours.named_parameters(), ref.named_parameters()):
            assert n1 == n2 and torch.equal(p1, p2)
        fresh = GRU(4, 6, num_layers=2, reset_after=reset_after).double()
        back = nn.GRU(4, 6, num_layers=2).double()
        back.load_state_dict(fresh.state_dict())  # ours -> torch
        for a, b in ((ours, ref), (fresh, back)):
            diff = (a(x)[0] - b(x)[0]).abs().max()
            if reset_after:  # PyTorch's GRU: the same function of the same weights
                assert diff < 1e-12
            else:  # Cho et al.'s GRU: same weights, another function
                assert diff > 1e-3


def test_cell_state_must_match_the_batch():
    cell = GRUCell(3, 5)
    with pytest.raises(ValueError, match=r"expected a state of shape \(2, 5\).*got \(1, 5\)"):
        cell(torch.randn(2, 3), torch.zeros(1, 5))  # would broadcast over the batch
    with pytest.raises(ValueError, match=r"expected a state of shape \(5,\).*got \(2, 5\)"):
        cell(torch.randn(3), torch.zeros(2, 5))


def test_gates_are_an_explicit_argument_not_an_attribute():
    torch.manual_seed(0)
    layer = GRU(3, 5, num_layers=2, reset_after=False)
    x = torch.randn(7, 4, 3)
    attributes = set(vars(layer))
    gates = record_gates(layer, x)
    assert set(vars(layer)) == attributes
    log = []
    with torch.no_grad():
        out = layer(x, gates=log)[0]
        torch.testing.assert_close(layer(x)[0], out, atol=0, rtol=0)
    assert len(log) == 2 and set(log[0]) == {"reset", "update", "candidate"}
    for name in log[0]:
        torch.testing.assert_close(torch.stack([e[name] for e in log]), gates[name])
    layer._gate_log = []  # the old hidden attribute records nothing any more
    layer(x)
    assert layer._gate_log == []


def test_cell_matches_torch_cell_and_layer():
    ours, ref = GRUCell(3, 5).double(), nn.GRUCell(3, 5).double()
    ref.load_state_dict(ours.state_dict())
    x, h = torch.randn(4, 3).double(), torch.randn(4, 5).double()
    torch.testing.assert_close(ours(x, h), ref(x, h))
    torch.testing.assert_close(ours(x[0]), ref(x[0]))
    for reset_after in (True, False):
        cell = GRUCell(3, 5, reset_after=reset_after).double()
        layer = GRU(3, 5, reset_after=reset_after).double()
        layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
        seq, h, steps = torch.randn(6, 2, 3).double(), None, []
        for t in range(6):
            h = cell(seq[t], h)
            steps.append(h)
        torch.testing.assert_close(layer(seq)[0], torch.stack(steps))


def cho_step(cell, x, h):
    """Cho et al. (2014) written out block by block (their z keeps the old state, as in PyTorch)."""
    W_ir, W_iz, W_in = cell.weight_ih.chunk(3)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)
    return z * h + (1 - z) * n


def test_cho_formulation_by_hand_and_differs_from_pytorch():
    torch.manual_seed(0)
    cho = GRUCell(3, 5, reset_after=False).double()
    pt = GRUCell(3, 5, reset_after=True).double()
    pt.load_state_dict(cho.state_dict())
    x, h = torch.randn(4, 3).double(), torch.randn(4, 5).double()
    torch.testing.assert_close(cho(x, h), cho_step(cho, x, h), atol=1e-12, rtol=1e-12)
    assert (cho(x, h) - pt(x, h)).abs().max() > 1e-3
    # they differ only through r: with h = 0 and b_hn = 0 the reset gate has nothing to act on
    zero = torch.zeros(4, 5).double()
    assert (cho(x, zero) - pt(x, zero)).abs().max() > 1e-3  # r * b_hn against b_hn
    with torch.no_grad():
        cho.bias_hh[10:].zero_()
        pt.bias_hh[10:].zero_()
    torch.testing.assert_close(cho(x, zero), pt(x, zero))


def test_cho_layer_gradients_flow_and_differ():
    torch.manual_seed(0)
    cho = GRU(3, 5, num_layers=2, reset_after=False).double()
    ref = nn.GRU(3, 5, num_layers=2).double()
    ref.load_state_dict(cho.state_dict())
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    out_cho, out_ref = cho(x)[0], ref(x)[0]
    assert (out_cho - out_ref).abs().max() > 1e-3
    out_cho.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in cho.parameters())


@pytest.mark.parametrize("torch_layer", [False, True])
@pytest.mark.parametrize("batch_first,bidirectional", [(False, False), (True, True)])
def test_record_gates(torch_layer, batch_first, bidirectional):
    torch.manual_seed(0)
    cls = nn.GRU if torch_layer else GRU
    layer = cls(3, 5, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    d = 2 if bidirectional else 1
    x = torch.randn(4, 7, 3) if batch_first else torch.randn(7, 4, 3)
    gates = record_gates(layer, x)
    assert set(gates) == {"reset", "update", "candidate"}
    for name, g in gates.items():
        assert g.shape == (2 * d,) + x.shape[:2] + (5,)
        assert g.min() > (-1 if name == "candidate" else 0) and g.max() < 1
    # the top layer's forward direction, rebuilt from its gates, gives the layer's output
    z, n = gates["update"][-d], gates["candidate"][-d]
    tdim = 1 if batch_first else 0
    h, hs = torch.zeros_like(z.select(tdim, 0)), []
    for t in range(7):
        h = (1 - z.select(tdim, t)) * n.select(tdim, t) + z.select(tdim, t) * h
        hs.append(h)
    with torch.no_grad():
        out = layer(x)[0][..., :5]
    torch.testing.assert_close(torch.stack(hs, tdim), out, atol=1e-6, rtol=1e-5)


def test_record_gates_of_cho_gru_in_charlm():
    model = CharLM(11, 4, 6, cell=GRU(4, 6, batch_first=True, reset_after=False))
    gates = record_gates(model.rnn, model.embed(torch.randint(0, 11, (2, 9))))
    assert gates["reset"].shape == (1, 2, 9, 6)
    assert count_parameters(model) == charlm_parameters(11, 4, 6, 1, gates=3)

"""Every layer, model, probe and loop of the package on CUDA (skipped without a GPU).

Readers run the chapters in Colab. These tests run what the chapters run, on the GPU, in the
modes the chapters use: in particular the probes that differentiate through a recurrent layer in
eval mode, which cuDNN refuses unless it is switched off for them.
"""

import pytest
import torch
from torch import nn

import rnnbook
from rnnbook.layers import GRU, LSTM, RNN, masked_run, packed_run, record_gates
from rnnbook.models import NPLM, CharLM, SequenceRegressor, Tagger
from rnnbook.probes import gradient_by_distance, hidden_trace
from rnnbook.tasks import lm

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
CUDA = torch.device("cuda")


@pytest.mark.parametrize("ours_cls,ref_cls", [(RNN, nn.RNN), (LSTM, nn.LSTM), (GRU, nn.GRU)])
def test_scratch_layers_match_cudnn_on_the_gpu(ours_cls, ref_cls):
    torch.manual_seed(0)
    ours = ours_cls(3, 5, num_layers=2, batch_first=True, bidirectional=True).to(CUDA)
    ref = ref_cls(3, 5, num_layers=2, batch_first=True, bidirectional=True).to(CUDA)
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(4, 7, 3, device=CUDA, requires_grad=True)
    a, b = ours(x)[0], ref(x)[0]
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    (ga,) = torch.autograd.grad(a.sum(), x)
    (gb,) = torch.autograd.grad(b.sum(), x)
    torch.testing.assert_close(ga, gb, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_probes_work_on_cudnn_layers(cell):
    torch.manual_seed(0)
    model = CharLM(11, 4, 6, cell=cell, dropout=0.2).to(CUDA)
    ids = torch.randint(0, 11, (3, 9))
    g = gradient_by_distance(model, ids)  # eval-mode backward through cuDNN
    assert g.shape == (3, 8) and torch.isfinite(g).all() and model.training
    assert hidden_trace(model, ids[0]).shape == (9, 6)
    if cell != "rnn":
        gates = record_gates(model.rnn, model.embed(ids.to(CUDA)))
        assert all(v.device.type == "cuda" for v in gates.values())


def test_training_scoring_and_sampling_on_the_gpu():
    torch.manual_seed(0)
    stream = torch.tensor([0, 1, 2, 3] * 100)
    for model in (CharLM(4, 8, 16, cell="lstm").to(CUDA), NPLM(4, 2, 4, 8).to(CUDA)):
        hist = rnnbook.train(model, rnnbook.StreamBatches(stream, 4, 8),
                             rnnbook.LanguageModelLoss(stateful=True), steps=5, progress=False,
                             log=None)
        assert len(hist.step) >= 1
        assert lm.token_log_probs(model, stream[:50]).shape == (49,)
        assert len(rnnbook.generate(model, [0], 5)) == 5


def test_padded_runs_and_the_tagger_on_the_gpu():
    torch.manual_seed(0)
    x = torch.randn(3, 6, 4, device=CUDA)
    lengths = torch.tensor([6, 2, 4])  # lengths stay on the CPU, as packing requires
    out, _ = masked_run(LSTM(4, 5, batch_first=True, bidirectional=True).to(CUDA), x, lengths)
    ref, _ = packed_run(nn.LSTM(4, 5, batch_first=True, bidirectional=True).to(CUDA), x, lengths)
    assert out.shape == ref.shape == (3, 6, 10)
    tagger = Tagger(20, 5, embed_size=8, hidden_size=8, num_chars=10).to(CUDA)
    words = torch.randint(2, 20, (3, 6), device=CUDA)
    chars = torch.randint(1, 10, (3, 6, 4), device=CUDA)
    logits = tagger(words, lengths, chars)
    logits.sum().backward()
    assert logits.shape == (3, 6, 5)


def test_regressor_on_the_gpu():
    model = SequenceRegressor(2, 8, cell="gru").to(CUDA)
    assert model(torch.randn(5, 7, 2, device=CUDA)).shape == (5,)

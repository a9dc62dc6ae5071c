"""The language-modelling task: per-token scores, mixtures and the training recipe."""

import math

import numpy as np
import pytest
import torch

from rnnbook.models import BigramLM, CharLM
from rnnbook.tasks import lm


def test_token_log_probs_of_a_bigram_table():
    model = BigramLM(3)
    with torch.no_grad():
        model.logits.weight.copy_(torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    ids = torch.tensor([0, 2, 1, 0])
    got = lm.token_log_probs(model, ids)
    table = torch.log_softmax(model.logits.weight.detach().double(), -1)
    want = [table[0, 2], table[2, 1], table[1, 0]]
    np.testing.assert_allclose(got, [float(w) for w in want], rtol=1e-6)
    assert got.dtype == np.float64 and got.shape == (3,)


def test_token_log_probs_reads_chunks_with_the_state_carried():
    torch.manual_seed(0)
    model = CharLM(7, 4, 8, cell="lstm").double()
    ids = torch.randint(0, 7, (50,))
    whole = lm.token_log_probs(model, ids, chunk=4096)
    pieces = lm.token_log_probs(model, ids, chunk=7)
    np.testing.assert_allclose(pieces, whole, rtol=1e-10, atol=1e-12)
    model.train()
    lm.token_log_probs(model, ids)
    assert model.training  # the mode it found is restored
    with pytest.raises(ValueError, match="at least 2"):
        lm.token_log_probs(model, ids[:1])


def test_mixture_log_probs_at_the_ends_and_in_the_middle():
    a, b = np.log([0.5, 0.2]), np.log([0.1, 0.6])
    np.testing.assert_allclose(lm.mixture_log_probs(a, b, 1.0), a)
    np.testing.assert_allclose(lm.mixture_log_probs(a, b, 0.0), b)
    np.testing.assert_allclose(lm.mixture_log_probs(a, b, 0.25),
                               np.log(0.25 * np.exp(a) + 0.75 * np.exp(b)))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        lm.mixture_log_probs(a, b, 1.5)


def test_best_mixture_weight_finds_the_optimum():
    # each model is right on half the tokens: by symmetry the best weight is 1/2
    p = np.log([0.9, 0.1] * 50)
    q = np.log([0.1, 0.9] * 50)
    assert lm.best_mixture_weight(p, q) == pytest.approx(0.5)
    assert lm.best_mixture_weight(p, p - 1.0) == 1.0  # p is better on every token
    assert lm.best_mixture_weight(q - 1.0, q) == 0.0


def test_cross_entropy_is_mean_negative_log_probability():
    assert lm.cross_entropy(np.log([0.5, 0.25])) == pytest.approx((math.log(2) + math.log(4)) / 2)


def test_fit_lm_learns_a_repeating_stream():
    torch.manual_seed(0)
    stream = torch.tensor([0, 1, 2, 3] * 200)
    model = CharLM(4, 8, 16, cell="gru")
    before = lm.cross_entropy(lm.token_log_probs(model, stream[:100]))
    hist = lm.fit_lm(model, stream, stream[:200], steps=60, batch_size=4, seq_len=16, lr=1e-2,
                     log=None)
    after = lm.cross_entropy(lm.token_log_probs(model, stream[:100]))
    assert before > 1.2 and after < 0.1 and hist.step[-1] == 60


def test_fit_lm_is_adamw_with_a_one_cycle_rate_of_5_percent_warm_up():
    from rnnbook import StreamBatches, train
    stream = torch.tensor([0, 1, 2, 3, 2, 1] * 60)

    def model():
        torch.manual_seed(0)
        return CharLM(4, 8, 16, cell="gru")

    fitted = model()
    lm.fit_lm(fitted, stream, stream[:100], steps=40, batch_size=4, seq_len=8, lr=1e-2,
              log=None)
    by_hand = model()
    opt = torch.optim.AdamW(by_hand.parameters(), lr=1e-2, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=40,
                                                pct_start=0.05)
    train(by_hand, StreamBatches(stream, 4, 8), lm.LanguageModelLoss(stateful=True), steps=40,
          optimizer=opt, scheduler=sched, progress=False, log=None)
    for a, b in zip(fitted.parameters(), by_hand.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)

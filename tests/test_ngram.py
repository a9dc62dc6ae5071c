"""Count-based n-gram models: proper distributions, a hand-worked example, smoothing that works."""

import math
import sys

import numpy as np
import pytest
import torch

from rnnbook.ngram import AddKLM, KneserNeyLM, as_ids


def zipf_stream(n, vocab, seed):
    """Text-like ids: a Zipfian unigram mixed with a fixed 'grammar' (each id prefers a next id)."""
    p = 1.0 / np.arange(1, vocab + 1)
    p /= p.sum()
    follow = np.random.default_rng(123).permutation(vocab)  # the same grammar for every stream
    rng = np.random.default_rng(seed)
    out = [0]
    for _ in range(n - 1):
        out.append(int(follow[out[-1]]) if rng.random() < 0.6 else int(rng.choice(vocab, p=p)))
    return np.array(out)


TRAIN, TEST = zipf_stream(3000, 40, 0), zipf_stream(1000, 40, 1)


@pytest.mark.parametrize("model", [KneserNeyLM(3, 40), KneserNeyLM(4, 40, discount=None),
                                   AddKLM(2, 40, k=0.5), KneserNeyLM(1, 40)])
def test_every_context_gives_a_distribution(model):
    model.fit(TRAIN)
    contexts = [[], [0], [5, 7], list(TRAIN[:10]), [39, 39, 39], list(TEST[20:24])]
    for ctx in contexts:
        p = model.probs(ctx)
        assert p.shape == (40,)
        assert np.all(p > 0), "an unseen n-gram must keep some probability"
        assert math.isclose(p.sum(), 1.0, rel_tol=1e-9)


def test_log_probs_agree_with_probs():
    model = KneserNeyLM(3, 40, discount=None).fit(TRAIN)
    lp = model.log_probs(TEST[:50])
    assert lp.shape == (49,)
    for t in (1, 2, 3, 30):
        ctx = TEST[:t]
        assert lp[t - 1] == pytest.approx(math.log(model.probs(ctx)[TEST[t]]), rel=1e-9)
    addk = AddKLM(3, 40, k=0.2).fit(TRAIN)
    lp = addk.log_probs(TEST[:50])
    for t in (1, 2, 30):
        assert lp[t - 1] == pytest.approx(math.log(addk.probs(TEST[:t])[TEST[t]]), rel=1e-9)


def test_hand_computed_kneser_ney_bigram():
    # x = 0 1 0 2 0 1, V = 3, D = 1/2. Continuation counts N1+(. w): 0 <- {1, 2}, 1 <- {0},
    # 2 <- {0}: total 4, 3 types. p1 = (max(N - D, 0) + D * 3 / 3) / 4 = (1/2, 1/4, 1/4).
    # After 0: counts 0->1 twice, 0->2 once (3 in all, 2 types):
    # p(1|0) = (2 - 1/2)/3 + (1/2 * 2/3) p1(1) = 7/12; p(2|0) = 3/12; p(0|0) = 2/12.
    model = KneserNeyLM(2, 3, discount=0.5).fit([0, 1, 0, 2, 0, 1])
    np.testing.assert_allclose(model.probs([]), [0.5, 0.25, 0.25])
    np.testing.assert_allclose(model.probs([0]), [2 / 12, 7 / 12, 3 / 12])
    assert model.cross_entropy([0, 1]) == pytest.approx(-math.log(7 / 12))
    assert model.perplexity([0, 1, 0]) == pytest.approx(
        math.exp(-(math.log(7 / 12) + math.log(model.probs([1])[0])) / 2))
    # add-one bigram: p(1|0) = (2 + 1) / (3 + 3)
    addk = AddKLM(2, 3, k=1.0).fit(torch.tensor([0, 1, 0, 2, 0, 1]))
    np.testing.assert_allclose(addk.probs([0]), [1 / 6, 3 / 6, 2 / 6])


def test_unseen_ngrams_and_unseen_tokens_get_probability():
    model = KneserNeyLM(3, 50).fit(TRAIN)  # ids 40..49 never occur in training
    assert model.probs([1, 2])[45] > 0
    assert np.isfinite(model.cross_entropy([45, 46, 47, 1, 2, 45]))


def test_kneser_ney_beats_add_k_on_held_out_text():
    kn = KneserNeyLM(3, 40).fit(TRAIN).cross_entropy(TEST)
    addk = AddKLM(3, 40, k=1.0).fit(TRAIN).cross_entropy(TEST)
    assert kn < addk


def test_sample_is_reproducible_and_in_range():
    model = KneserNeyLM(3, 40).fit(TRAIN)
    a = model.sample([0], 20, np.random.default_rng(3))
    b = model.sample([0], 20, np.random.default_rng(3))
    assert a == b and len(a) == 20 and all(0 <= t < 40 for t in a)


def python_calls(fn):
    """``(number of Python and C function calls made by fn(), its result)``."""
    count = 0

    def profile(frame, event, arg):
        nonlocal count
        count += event in ("call", "c_call")

    sys.setprofile(profile)
    try:
        result = fn()
    finally:
        sys.setprofile(None)
    return count, result


def test_fitting_a_million_tokens_is_vectorised():
    """No Python loop over positions: fitting and scoring ten times the tokens makes exactly
    the same function calls (the work per token is inside NumPy), and the counts add up."""
    ids = np.random.default_rng(0).integers(0, 5000, size=1_000_000)

    def fit_and_score(n):
        model = KneserNeyLM(4, 5000).fit(ids[:n])
        return model, model.cross_entropy(ids[: n // 10])

    small, _ = python_calls(lambda: fit_and_score(100_000))
    large, (model, nats) = python_calls(lambda: fit_and_score(1_000_000))
    assert large == small
    n = len(ids)
    assert [int(c.sum()) for c in model.counts.count] == [n, n, n - 1, n - 2, n - 3]
    assert np.isfinite(nats) and nats < math.log(5000)  # the scored text was in training


def test_ids_must_be_integers():
    model = AddKLM(2, 5)
    for bad in (np.array([0.0, 1.0, 2.0]), torch.tensor([0.0, 1.7, 2.0]), [0, 1.5, 2],
                np.array([True, False])):
        with pytest.raises(ValueError, match="token ids must be integers"):
            model.fit(bad)
    model.fit([0, 1, 2, 1])  # a list of ints, integer arrays and tensors all pass
    for good in ([1, 2.0, 3], np.array([1, 2, 3], dtype=np.int32), torch.tensor([1, 2, 3]),
                 np.array([1, 2, 3], dtype=np.uint8)):
        assert np.isfinite(model.cross_entropy(good))
    with pytest.raises(ValueError, match="integers"):
        model.cross_entropy(torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="integers"):
        model.probs([1.9])
    assert as_ids([]).dtype == np.int64 and as_ids(np.int64(3)).tolist() == [3]


def test_errors_are_clear():
    with pytest.raises(RuntimeError, match="fit"):
        KneserNeyLM(2, 5).probs([1])
    with pytest.raises(ValueError, match="0..4"):
        KneserNeyLM(2, 5).fit([0, 1, 7])

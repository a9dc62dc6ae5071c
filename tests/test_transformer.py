"""The Transformer LM, the minGRU LM and the cost measures, with the book's LM interface."""

from itertools import islice

import pytest
import torch

from rnnbook import evaluate, train
from rnnbook.batching import StreamBatches
from rnnbook.cost import Resumable, state_bytes, train_for_budgets, training_tokens_per_second
from rnnbook.generate import generate
from rnnbook.models.lm import CharLM, count_parameters
from rnnbook.models.minrnn import MinRNNLM
from rnnbook.models.transformer import TransformerLM
from rnnbook.tasks.lm import LanguageModelLoss, token_log_probs

V = 11


def _tf(block=8, **kw):
    torch.manual_seed(0)
    return TransformerLM(V, width=16, num_layers=2, num_heads=2, block_size=block, **kw).double()


def test_parameters_by_formula_and_weight_tying():
    D, L, B = 16, 2, 8
    per_block = 4 * D + (3 * D * D + 3 * D) + (D * D + D) + (8 * D * D + 4 * D + D)
    tied = _tf()
    assert count_parameters(tied) == V * D + B * D + L * per_block + 2 * D
    assert tied.out.weight is tied.tok.weight
    assert count_parameters(_tf(tie_weights=False)) == count_parameters(tied) + V * D


def test_kv_cache_token_by_token_equals_one_pass():
    model = _tf().eval()
    ids = torch.randint(0, V, (2, 8))
    full, _ = model(ids)
    out, state = model(ids[:, :3])
    parts = [out]
    for t in range(3, 8):
        out, state = model(ids[:, t:t + 1], state)
        parts.append(out)
        assert state[1][0][0].size(2) == t + 1  # the cache grows by one position per token
    torch.testing.assert_close(torch.cat(parts, 1), full)


def test_a_token_never_sees_the_future():
    model = _tf().eval()
    ids = torch.randint(0, V, (1, 8))
    other = ids.clone()
    other[0, 5] = (other[0, 5] + 1) % V
    torch.testing.assert_close(model(ids)[0][:, :5], model(other)[0][:, :5])


def test_past_the_block_the_model_reads_its_last_block_afresh():
    model = _tf(block=6).eval()
    ids = torch.randint(0, V, (2, 20))
    out, state = model(ids[:, :6])
    out, state = model(ids[:, 6:7], state)  # the window is full: recompute the last 6
    torch.testing.assert_close(out, model(ids[:, 1:7])[0][:, -1:])
    long, state = model(ids)  # windows of 6 advancing by 3
    torch.testing.assert_close(long[:, 9:12], model(ids[:, 6:12])[0][:, 3:])
    torch.testing.assert_close(long[:, :3], model(ids[:, :3])[0])
    assert state[0].shape == (2, 5) and state[1] is None


def test_trains_scores_and_generates_with_the_book_functions():
    torch.manual_seed(0)
    stream = torch.arange(400) % V  # a cycle: perfectly predictable after one token
    model = TransformerLM(V, 16, 1, 2, block_size=8)
    batches = StreamBatches(stream, 4, 8)
    before = evaluate(model, batches, LanguageModelLoss(stateful=True))
    train(model, batches, LanguageModelLoss(), steps=60, lr=1e-2, log=None, progress=False)
    after = evaluate(model, batches, LanguageModelLoss(stateful=True))
    assert after < 0.2 < 2.0 < before
    assert token_log_probs(model, stream[:50]).shape == (49,)
    out = generate(model, [0], steps=20, temperature=0.01,
                   generator=torch.Generator().manual_seed(0))
    assert out == [(k + 1) % V for k in range(20)]


def test_minrnn_lm_modes_agree_and_state_carries():
    torch.manual_seed(0)
    model = MinRNNLM(V, 8, 2).double()
    ids = torch.randint(0, V, (2, 15))
    par, _ = model(ids)
    a, h = model(ids[:, :6])
    b, _ = model(ids[:, 6:], h)
    torch.testing.assert_close(torch.cat([a, b], 1), par)
    model.set_mode("sequential")
    torch.testing.assert_close(model(ids)[0], par)


def test_state_bytes_fixed_for_rnn_and_growing_for_the_cache():
    lstm = CharLM(V, 4, 6, cell="lstm")
    _, st = lstm(torch.zeros(1, 9, dtype=torch.long))
    assert state_bytes(st) == 2 * 6 * 4  # h and c, float32
    model = TransformerLM(V, 16, 2, 2, block_size=32)
    for T in (4, 12):
        _, st = model(torch.zeros(1, T, dtype=torch.long))
        assert state_bytes(st) == 2 * 2 * T * 16 * 4 + 8 * T  # K, V per layer + the ids
    mingru = MinRNNLM(V, 8, 3)
    for T in (4, 12):
        _, st = mingru(torch.zeros(1, T, dtype=torch.long))
        assert state_bytes(st) == 3 * 8 * 4  # one float32 vector per layer


def test_resumable_reads_on_and_wraps():
    data = Resumable([1, 2, 3])
    assert list(islice(data, 2)) == [1, 2]
    assert list(islice(data, 4)) == [3, 1, 2, 3]


def test_train_for_budgets_rows_and_refusals():
    torch.manual_seed(0)
    model = MinRNNLM(V, 8, 1)
    batches = StreamBatches(torch.arange(300) % V, 4, 8)
    history, rows = train_for_budgets(model, batches, LanguageModelLoss(), [0.05, 0.1],
                                      lambda m: 1.0, log=None, progress=False)
    assert [r["budget"] for r in rows] == [0.05, 0.1]
    assert rows[0]["steps"] <= rows[1]["steps"] == history.step[-1]
    assert rows[1]["seconds"] >= 0.1 and history.time == sorted(history.time)
    with pytest.raises(ValueError, match="increasing"):
        train_for_budgets(model, batches, LanguageModelLoss(), [2, 1], lambda m: 1.0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="batch, time"):
        _tf()(torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="block_size"):
        TransformerLM(V, block_size=1)
    with pytest.raises(ValueError, match="batch, time"):
        MinRNNLM(V, 8)(torch.zeros(2, 0, dtype=torch.long))


def test_training_tokens_per_second_runs_the_given_loss():
    calls = []

    def loss_fn(model, batch):
        x, y = batch
        calls.append((tuple(x.shape), tuple(y.shape)))
        return LanguageModelLoss()(model, batch)

    speed = training_tokens_per_second(MinRNNLM(V, 8, 1), loss_fn, 2, 6, reps=2)
    assert speed > 0 and calls and set(calls) == {((2, 6), (2, 6))}

"""The NPLM: shapes, windows, direct connections, parameter count, and it learns with the loop."""

import pytest
import torch

import rnnbook
from rnnbook.models import NPLM


def test_shapes_and_context_size():
    model = NPLM(vocab_size=11, context_size=3, embed_size=4, hidden_size=6)
    ids = torch.randint(0, 11, (2, 7))
    logits, state = model(ids)
    assert logits.shape == (2, 7, 11)
    assert model.context_size == 3
    assert torch.equal(state, ids[:, -3:])


def test_windows_are_the_previous_tokens_left_padded():
    model = NPLM(vocab_size=20, context_size=3, pad_id=0)
    ids = torch.tensor([[5, 6, 7, 8]])
    win = model.windows(ids)
    assert win.tolist() == [[[0, 0, 5], [0, 5, 6], [5, 6, 7], [6, 7, 8]]]
    win = model.windows(ids, state=torch.tensor([[1, 2, 3]]))
    assert win[0, 0].tolist() == [2, 3, 5]


def test_position_t_sees_only_its_window():
    torch.manual_seed(0)
    model = NPLM(vocab_size=10, context_size=2, embed_size=3, hidden_size=5)
    ids = torch.randint(1, 10, (1, 6))
    logits, _ = model(ids)
    changed = ids.clone()
    changed[0, 1] = (ids[0, 1] % 9) + 1  # touch token 1: only positions 1 and 2 may move
    logits2, _ = model(changed)
    moved = (logits - logits2).abs().amax(-1)[0] > 1e-6
    assert moved.tolist() == [False, True, True, False, False, False]


def test_chunks_with_state_equal_the_whole_stream():
    torch.manual_seed(0)
    model = NPLM(vocab_size=10, context_size=3, embed_size=3, hidden_size=5)
    ids = torch.randint(0, 10, (2, 12))
    whole, _ = model(ids)
    a, state = model(ids[:, :5])
    b, _ = model(ids[:, 5:], state)
    torch.testing.assert_close(torch.cat([a, b], 1), whole)


def test_state_of_the_wrong_shape_is_an_error():
    model = NPLM(vocab_size=10, context_size=3, embed_size=3, hidden_size=5)
    ids = torch.randint(0, 10, (2, 6))
    for bad in (torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 4, dtype=torch.long),
                torch.zeros(1, 3, dtype=torch.long)):
        with pytest.raises(ValueError, match=r"expected a state of shape \(2, 3\).*got"):
            model(ids, bad)
    with pytest.raises(ValueError, match="batch, time"):
        model(ids[0])
    logits, state = model(ids, torch.zeros(2, 3, dtype=torch.long))
    assert logits.shape == (2, 6, 10) and state.shape == (2, 3)


def test_equation_and_direct_connections_can_be_switched_off():
    torch.manual_seed(0)
    on = NPLM(vocab_size=9, context_size=2, embed_size=3, hidden_size=4, direct=True)
    off = NPLM(vocab_size=9, context_size=2, embed_size=3, hidden_size=4, direct=False)
    assert on.direct and not off.direct and off.W is None
    off.load_state_dict({k: v for k, v in on.state_dict().items() if not k.startswith("W.")})
    ids = torch.tensor([[1, 2, 3, 4]])
    x = on.C(on.windows(ids)).flatten(2)
    hidden = on.U(torch.tanh(on.H(x)))
    torch.testing.assert_close(off(ids)[0], hidden)
    torch.testing.assert_close(on(ids)[0], hidden + x @ on.W.weight.T)
    for direct, model in ((True, on), (False, off)):
        assert sum(p.numel() for p in model.parameters()) == NPLM.parameters_by_formula(
            9, 2, 3, 4, direct)


def test_learns_a_deterministic_pattern_with_the_book_loop():
    rnnbook.seed_everything(0)
    stream = torch.tensor([1, 2, 3, 4, 5, 6, 7] * 60)
    model = NPLM(vocab_size=8, context_size=2, embed_size=8, hidden_size=16)
    batches = rnnbook.StreamBatches(stream, batch_size=4, seq_len=16)
    loss_fn = rnnbook.LanguageModelLoss(stateful=True)
    hist = rnnbook.train(model, batches, loss_fn, steps=150, lr=3e-2, val_data=batches,
                         progress=False, log=None)
    assert hist.final_val < 0.1
    out = rnnbook.generate(model, [1, 2], steps=5, generator=torch.Generator().manual_seed(0))
    assert out == [3, 4, 5, 6, 7]


def test_bad_context_size():
    with pytest.raises(ValueError, match="context_size"):
        NPLM(vocab_size=5, context_size=0)


def test_start_from_unigram_sets_the_bias_to_add_one_log_frequencies():
    torch.manual_seed(0)
    ids = torch.tensor([0, 1, 1, 1, 2, 2, 1, 0])  # counts 2, 4, 2, 0 over V = 4
    model = NPLM(vocab_size=4, context_size=2).start_from_unigram(ids)
    expected = torch.tensor([3.0, 5.0, 3.0, 1.0]) / 12
    torch.testing.assert_close(model.U.bias.detach(), expected.log())


def test_start_from_unigram_starts_near_the_unigram_model():
    torch.manual_seed(0)
    V = 50
    probs = torch.arange(1, V + 1, dtype=torch.float) ** -1.5  # a Zipf-like stream
    ids = torch.multinomial(probs / probs.sum(), 5000, replacement=True, generator=
                            torch.Generator().manual_seed(0))
    counts = torch.bincount(ids, minlength=V).float() + 1
    unigram = -(counts / counts.sum()).log()[ids].mean()
    model = NPLM(vocab_size=V, context_size=2, embed_size=8, hidden_size=16)
    loss = rnnbook.LanguageModelLoss()

    def start_loss():
        with torch.no_grad():
            return loss(model, (ids[None, :-1], ids[None, 1:]))[0]

    before = start_loss()
    model.start_from_unigram(ids)
    after = start_loss()
    assert before > unigram + 1.0  # a fresh model is near uniform: log V = 3.9 nats
    assert abs(after - unigram) < 0.2  # U adds a little noise to the unigram logits


def test_start_from_unigram_rejects_ids_outside_the_vocabulary():
    model = NPLM(vocab_size=4, context_size=2)
    with pytest.raises(ValueError, match="vocabulary"):
        model.start_from_unigram(torch.tensor([0, 5]))
    with pytest.raises(ValueError, match="non-empty"):
        model.start_from_unigram(torch.tensor([], dtype=torch.long))

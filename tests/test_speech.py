import itertools
import math
from functools import partial

import numpy as np
import pytest
import torch
from resume import kill_and_resume, same_weights

import rnnbook
from rnnbook.audio import spec_augment
from rnnbook.history import History
from rnnbook.models.speech import CTCRecogniser, FrameClassifier, stack_frames
from rnnbook.tasks.losses import ClassificationLoss
from rnnbook.tasks.speech import (
    CTCLoss,
    FrameBatches,
    collapse,
    digit_error_rate,
    edit_distance,
    fit,
    greedy_decode,
    make_utterances,
    predict,
    recognise,
    speaker_folds,
    speaker_split,
    train_and_score,
)
from rnnbook.train import train


def test_stack_frames_puts_neighbours_side_by_side():
    x = torch.arange(2 * 5 * 3, dtype=torch.float32).view(2, 5, 3)
    y, lengths = stack_frames(x, [5, 3], 2)
    assert y.shape == (2, 3, 6)
    torch.testing.assert_close(y[0, 1], torch.cat([x[0, 2], x[0, 3]]))
    torch.testing.assert_close(y[0, 2], torch.cat([x[0, 4], torch.zeros(3)]))
    assert lengths.tolist() == [3, 2]
    with pytest.raises(ValueError, match="float frames"):
        stack_frames(torch.zeros(2, 5, dtype=torch.long), [5, 5], 2)


@pytest.mark.parametrize("cls", [FrameClassifier, CTCRecogniser])
def test_padding_changes_nothing(cls):
    torch.manual_seed(0)
    model = cls(4, 3, hidden_size=8, num_layers=2, stride=2).eval()
    a, b = torch.randn(7, 4), torch.randn(12, 4)
    batch = torch.nn.utils.rnn.pad_sequence([a, b], batch_first=True)
    both = model(batch, [7, 12])
    alone = model(a[None], [7])
    if cls is CTCRecogniser:
        (both, n_both), (alone, n_alone) = both, alone
        assert n_both.tolist() == [4, 6] and n_alone.tolist() == [4]
        torch.testing.assert_close(both[0, :4], alone[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(both.exp().sum(-1), torch.ones(2, 6))
        assert both.shape == (2, 6, 4)  # 3 labels and the blank
    else:
        torch.testing.assert_close(both[0], alone[0], atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="frames"):
        model(torch.randn(1, 7, 5), [7])


def test_collapse_merges_repeats_then_drops_blanks():
    assert collapse([0, 3, 3, 0, 3, 0]) == [3, 3]
    assert collapse([1, 1, 1]) == [1]
    assert collapse([0, 0]) == []
    assert collapse([2, 0, 0, 2, 5, 5, 0]) == [2, 2, 5]


def test_greedy_decode_reads_each_sequence_to_its_length():
    best = torch.tensor([[1, 1, 0, 1, 2, 2], [0, 3, 3, 3, 1, 1]])
    log_probs = torch.nn.functional.one_hot(best, 4).float().log_softmax(-1)
    assert greedy_decode(log_probs, [6, 4]) == [[1, 1, 2], [3]]
    with pytest.raises(ValueError, match="batch, time, classes"):
        greedy_decode(log_probs[0], [6])


class Fixed(torch.nn.Module):
    """A 'model' that returns given log-probabilities, to test the loss alone."""

    def __init__(self, logits):
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, x, lengths):
        return self.logits.log_softmax(-1), torch.as_tensor(lengths)


def brute_force_nll(log_probs, target):
    """-log sum over every path pi of length T with collapse(pi) == target of prod p_t(pi_t)."""
    steps, classes = log_probs.shape
    terms = [log_probs[torch.arange(steps), torch.tensor(path)].sum()
             for path in itertools.product(range(classes), repeat=steps)
             if collapse(path) == target]
    return -torch.logsumexp(torch.stack(terms), 0)


@pytest.mark.parametrize("target", [[0], [0, 1], [1, 1], [2, 0, 2]])
def test_ctc_loss_is_the_sum_over_paths_values_and_gradients(target):
    torch.manual_seed(1)
    logits = torch.randn(1, 5, 4, dtype=torch.float64)
    model = Fixed(logits.clone())
    y = torch.tensor([target])
    loss, n = CTCLoss()(model, (torch.zeros(1, 5, 1), torch.tensor([5]), y,
                                torch.tensor([len(target)])))
    loss.backward()
    ref_logits = logits[0].clone().requires_grad_()
    want = brute_force_nll(ref_logits.log_softmax(-1), [k + 1 for k in target])  # digit k: k+1
    want.backward()
    assert n == 1
    torch.testing.assert_close(loss, want)
    torch.testing.assert_close(model.logits.grad[0], ref_logits.grad)


def test_ctc_loss_by_hand_for_two_frames():
    p = torch.tensor([[0.5, 0.3, 0.2], [0.6, 0.1, 0.3]], dtype=torch.float64)  # blank, 0, 1
    model = Fixed(p.log()[None])
    loss, _ = CTCLoss()(model, (torch.zeros(1, 2, 1), torch.tensor([2]), torch.tensor([[0]]),
                                torch.tensor([1])))
    # paths for digit 0 (class 1): (1,1), (1,-), (-,1)
    want = -math.log(0.3 * 0.1 + 0.3 * 0.6 + 0.5 * 0.1)
    assert loss.item() == pytest.approx(want)


def test_edit_distance_and_digit_error_rate():
    assert edit_distance([1, 2, 3], [1, 2, 3]) == 0
    assert edit_distance([1, 2, 3], [1, 3]) == 1  # deletion
    assert edit_distance([1, 2], [1, 2, 2]) == 1  # insertion
    assert edit_distance([1, 2, 3], [3, 2, 1]) == 2  # two substitutions
    assert edit_distance([], [4, 5]) == 2
    assert digit_error_rate([[1, 2], [3, 4, 5]], [[1, 2], [3, 5]]) == pytest.approx(1 / 5)
    assert digit_error_rate([[1]], [[2, 3, 4]]) == 3.0
    with pytest.raises(ValueError, match="as many"):
        digit_error_rate([[1]], [])


def test_speaker_split():
    train, test = speaker_split(["a", "b", "a", "c"], "a")
    assert train.tolist() == [1, 3] and test.tolist() == [0, 2]
    with pytest.raises(ValueError, match="no recordings of speaker 'z'"):
        speaker_split(["a"], "z")


def test_speaker_folds_test_and_validate_every_speaker_once():
    who = ["b", "a", "c", "a", "d", "b", "c", "d", "a"]
    folds = speaker_folds(who)
    assert [(t, v) for t, v, *_ in folds] == [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    for test, val, tr, va, te in folds:
        assert sorted([*tr, *va, *te]) == list(range(len(who)))  # a partition
        assert {who[i] for i in te} == {test} and {who[i] for i in va} == {val}
        assert {who[i] for i in tr} == set(who) - {test, val}
    with pytest.raises(ValueError, match="at least 3 speakers"):
        speaker_folds(["a", "b", "a"])


def test_frame_batches_pad_and_cover_every_recording_once():
    feats = [torch.full((n, 2), float(n)) for n in (3, 5, 2, 4, 6)]
    batches = FrameBatches(feats, [0, 1, 2, 3, 4], 2, seed=0)
    assert len(batches) == 3
    seen = []
    for x, lengths, y in batches:
        for row, n, label in zip(x, lengths, y):
            assert (row[:n] == n).all() and (row[n:] == 0).all()
            assert len(feats[label]) == n
            seen.append(int(label))
    assert sorted(seen) == [0, 1, 2, 3, 4]
    x, lengths, y, y_lengths = next(iter(FrameBatches(feats[:2], [[1, 2], [3]], 2,
                                                      shuffle=False)))
    assert y.tolist() == [[1, 2], [3, 0]] and y_lengths.tolist() == [2, 1]
    a, b = torch.ones(3, 2), torch.full((4, 2), 2.0)  # two versions of one recording
    two = FrameBatches([[a, b]], [0], 1)
    picked = {int(x[0, 0, 0]) for _ in range(20) for x, _, _ in two}
    assert picked == {1, 2}
    x, _, _ = next(iter(FrameBatches([[a, b]], [0], 1, shuffle=False)))
    assert torch.equal(x[0], a)  # evaluation reads the first version
    with pytest.raises(ValueError, match="2 recordings but 1 labels"):
        FrameBatches(feats[:2], [0], 2)
    with pytest.raises(ValueError, match="empty"):
        FrameBatches([], [], 2)
    with pytest.raises(ValueError, match="empty list of versions"):
        FrameBatches([[a], []], [0, 1], 2)


def test_make_utterances_joins_recordings_with_silences():
    waves = [np.full(100, float(d + 1), np.float32) for d in range(3)]
    utts = make_utterances(waves, [7, 8, 9], 20, rate=1000, min_digits=2, max_digits=4,
                           silence=(0.01, 0.02), seed=0)
    for wave, digits in utts:
        assert 2 <= len(digits) <= 4 and set(digits) <= {7, 8, 9}
        loud = np.abs(wave) > 0.5  # the recordings; the silences are faint noise
        assert loud.sum() == 100 * len(digits)
        assert 10 * (len(digits) + 1) <= len(wave) - 100 * len(digits) <= 20 * (len(digits) + 1)
    again = make_utterances(waves, [7, 8, 9], 20, rate=1000, seed=0)
    assert [d for _, d in again] == [d for _, d in make_utterances(waves, [7, 8, 9], 20,
                                                                   rate=1000, seed=0)]


def tones(n, seed):
    """Two classes of made-up 'recordings': a rising or a falling ramp over 4 features."""
    g = torch.Generator().manual_seed(seed)
    feats, labels = [], []
    for i in range(n):
        steps = int(torch.randint(6, 12, (1,), generator=g))
        ramp = torch.linspace(-1, 1, steps)[:, None].repeat(1, 4)
        label = i % 2
        feats.append((ramp if label else -ramp) + 0.3 * torch.randn(steps, 4, generator=g))
        labels.append(label)
    return feats, labels


def test_train_and_score_learns_a_toy_task_and_predict_keeps_the_order():
    feats, labels = tones(80, 0)
    out = train_and_score(lambda: FrameClassifier(4, 2, hidden_size=8, stride=1), feats[:60],
                          labels[:60], feats[60:], labels[60:], epochs=15, batch=16, lr=0.02)
    assert out["accuracy"] >= 0.9
    h = out["history"]  # fit's History: every step of 15 passes of 4 batches, timed
    assert isinstance(h, History) and h.step[-1] == 15 * 4 and h.seconds > 0
    pred = predict(out["model"], [feats[i] for i in range(60, 80)], batch_size=7)
    assert pred.tolist() == out["pred"].tolist()


def test_recognise_maps_classes_to_digits():
    class Says(torch.nn.Module):  # emits blank, digit 4 (class 5), blank, digit 4 again
        def forward(self, x, lengths):
            best = torch.tensor([0, 5, 5, 0, 5])[: x.size(1)].repeat(x.size(0), 1)
            return torch.nn.functional.one_hot(best, 11).float(), torch.as_tensor(lengths)

    feats = [torch.zeros(5, 3), torch.zeros(3, 3)]
    assert recognise(Says(), feats) == [[4, 4], [4]]


def test_digit_error_rate_of_references_without_digits_is_refused():
    with pytest.raises(ValueError, match="hold no digit"):
        digit_error_rate([[]], [[1, 2]])
    with pytest.raises(ValueError, match="hold no digit"):
        digit_error_rate([[], []], [[], []])
    assert digit_error_rate([[], [1]], [[3], [1]]) == 1.0  # an insertion per reference digit


def _frame_data(n=13):
    g = torch.Generator().manual_seed(3)
    feats = [[torch.randn(int(k), 3, generator=g) for k in torch.randint(4, 9, (3,),
                                                                          generator=g)]
             for _ in range(n)]  # three versions of every recording, of different lengths
    return feats, [i % 4 for i in range(n)]


def _frame_batches(seed):
    feats, labels = _frame_data()
    masks = partial(spec_augment, freq_width=1, time_width=2)
    return FrameBatches(feats, labels, 3, seed=seed, augment=masks)  # 5 batches per pass


@pytest.mark.parametrize("consumed", [0, 2, 5, 7])  # 5 is a pass boundary
def test_frame_batches_state_replays_the_pass_in_progress(consumed):
    """The order, the version drawn and the masks of a resumed pass are those of the
    straight run (PaddedBatches' contract: the caller skips ``position`` batches)."""
    a = _frame_batches(seed=4)
    straight = [b for _ in range(3) for b in a]
    a = _frame_batches(seed=4)
    it = (b for _ in range(3) for b in a)
    for _ in range(consumed):
        next(it)
    state = a.state_dict()
    assert state["position"] == consumed % 5
    b = _frame_batches(seed=99)
    b.load_state_dict(state)
    resumed = list(b)[state["position"]:] + list(b)
    assert len(resumed) >= 5
    for got, want in zip(resumed, straight[consumed:]):
        for u, v in zip(got, want):
            assert torch.equal(u, v)


def _train_frames(steps, seed=0, **kw):
    rnnbook.seed_everything(seed)
    model = FrameClassifier(3, 4, hidden_size=6, stride=2, dropout=0.3)
    train(model, _frame_batches(seed=1), ClassificationLoss(), steps=steps, lr=0.01,
          eval_every=3, progress=False, log=None, **kw)
    return model


@pytest.mark.parametrize("split", [5, 7])  # 5: at a pass boundary, 7: inside a pass
def test_training_on_frame_batches_resumes_bit_exactly(tmp_path, split):
    same_weights(*kill_and_resume(_train_frames, 12, split, tmp_path, resume_seed=123))


def test_fit_is_adam_with_a_one_cycle_rate():
    # the recipe written out: Adam, OneCycleLR over every step (30% warm-up), clip 5
    feats, labels = tones(40, 1)

    def run(recipe):
        torch.manual_seed(0)
        model = FrameClassifier(4, 2, hidden_size=8, stride=1)
        recipe(model, FrameBatches(feats, labels, 8, seed=0))
        return model.state_dict()

    def by_hand(model, data):
        opt = torch.optim.Adam(model.parameters(), lr=0.02)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=3 * len(data))
        rnnbook.train(model, data, ClassificationLoss(), epochs=3, optimizer=opt,
                      scheduler=sched, clip=5.0, log=None, progress=False)

    a = run(by_hand)
    b = run(lambda model, data: fit(model, data, ClassificationLoss(), 3, 0.02))
    assert all(torch.equal(a[k], b[k]) for k in a)

"""Session-based recommendation: the split, the session-parallel batcher, the ranking metrics
and the count-based baselines, against hand-made sessions and brute force."""

import datetime

import numpy as np
import pytest
import torch

from rnnbook.models.lm import CharLM
from rnnbook.tasks import rank as R
from rnnbook.train import train

SESSIONS = [[0, 1, 2], [1, 2], [2, 0, 1, 3], [3, 1], [0, 2, 3, 1, 0], [1, 0]]


@pytest.fixture
def one_thread():
    """One click per step is a tiny product: on a busy machine, threads only wait."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_collapse_repeats():
    assert R.collapse_repeats([5, 5, 3, 5, 5, 5]) == [5, 3, 5]
    assert R.collapse_repeats([]) == [] and R.collapse_repeats([7]) == [7]


def test_time_split_sorts_by_date_and_drops_unseen_items():
    day = datetime.datetime(1999, 1, 1)
    raw = [(day + datetime.timedelta(days=d), s) for d, s in
           [(3, [10, 20]), (0, [20, 20, 30]), (1, [30]), (2, [10, 30, 10]), (4, [10, 99, 10])]]
    sp = R.time_split(raw, test_share=0.25)
    assert sp.items == [10, 20, 30]                       # the training items only
    assert sp.train == [[1, 2], [0, 2, 0], [0, 1]]        # date order, repeats collapsed
    assert sp.cutoff == day + datetime.timedelta(days=4)
    # [10, 99, 10] -> 99 unseen -> [10, 10] -> [10]: too short, dropped
    assert (sp.test, sp.unseen_dropped, sp.test_sessions_dropped) == ([], 1, 1)
    with pytest.raises(ValueError, match="test_share"):
        R.time_split(raw, test_share=1.0)


def _lanes(x, y, start):
    """Read the sessions back from a plan: a lane's run of steps between starts."""
    found = []
    for b in range(x.size(1)):
        cur = None
        for t in range(x.size(0)):
            if start[t, b]:
                if cur:
                    found.append(cur)
                cur = None
            if y[t, b] == R.IGNORE:
                assert start[t, b]            # an idle lane is always reset
                continue
            if cur is None:
                cur = [int(x[t, b])]
            assert cur[-1] == int(x[t, b])    # the input is the previous target: same session
            cur.append(int(y[t, b]))
        if cur:
            found.append(cur)
    return found


@pytest.mark.parametrize("batch_size", [1, 2, 3, 10])
def test_session_parallel_batches_reset_exactly_at_boundaries(batch_size):
    rng = np.random.default_rng(0)
    sessions = [list(rng.integers(0, 50, size=rng.integers(2, 9))) for _ in range(40)]
    batches = R.SessionParallelBatches(sessions, batch_size, seed=1)
    x, y, start = batches.plan()
    assert x.shape == y.shape == start.shape == (len(batches), batch_size)
    found = _lanes(x, y, start)
    # every session comes back whole, once, in one lane: no pair mixes two sessions
    assert sorted(map(tuple, found)) == sorted(tuple(map(int, s)) for s in sessions)
    # a start exactly where a session begins, none inside a session
    begins = sum(1 for t in range(x.size(0)) for b in range(batch_size)
                 if start[t, b] and y[t, b] != R.IGNORE)
    assert begins == len(sessions)
    assert int((y != R.IGNORE).sum()) == sum(len(s) - 1 for s in sessions)
    # the lanes stay busy until the sessions run out (greedy: one lane frees, it takes more)
    assert len(batches) <= -(-sum(len(s) - 1 for s in sessions) // batch_size) + 8
    steps = list(batches)
    assert len(steps) == x.size(0) and steps[0].x.shape == (batch_size, 1)
    torch.testing.assert_close(torch.stack([s.y[:, 0] for s in steps]), y)


def test_session_parallel_batches_shuffle_per_pass_and_bad_input():
    b = R.SessionParallelBatches(SESSIONS, 2, seed=0)
    first = torch.stack([s.x[:, 0] for s in b])
    second = torch.stack([s.x[:, 0] for s in b])
    again = torch.stack([s.x[:, 0] for s in R.SessionParallelBatches(SESSIONS, 2, seed=0)])
    assert torch.equal(first, again)
    assert first.shape != second.shape or not torch.equal(first, second)
    plain = R.SessionParallelBatches(SESSIONS, 1, shuffle=False)
    assert plain.plan()[1][:, 0].tolist() == [i for s in SESSIONS for i in s[1:]]
    with pytest.raises(ValueError, match="at least 2"):
        R.SessionParallelBatches([[1, 2], [3]], 2)
    with pytest.raises(ValueError, match="no sessions"):
        R.SessionParallelBatches([], 2)
    with pytest.raises(ValueError, match="batch_size"):
        R.SessionParallelBatches(SESSIONS, 0)


def test_reset_lanes_zeroes_only_started_lanes():
    h = torch.ones(2, 3, 4)
    out = R.reset_lanes(h, torch.tensor([False, True, False]))
    assert out[:, 1].abs().sum() == 0 and torch.equal(out[:, [0, 2]], h[:, [0, 2]])
    hc = R.reset_lanes((h, 2 * h), torch.tensor([True, False, False]))
    assert hc[1][:, 0].abs().sum() == 0 and torch.equal(hc[1][:, 1], 2 * h[:, 1])
    assert R.reset_lanes(None, torch.tensor([True])) is None
    with pytest.raises(ValueError, match="state"):
        R.reset_lanes(torch.ones(3, 4), torch.tensor([True, False, False]))


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_session_parallel_logits_equal_each_session_alone(cell):
    """The carried state with resets gives each event the logits of its session run alone."""
    torch.manual_seed(0)
    model = CharLM(5, 4, 6, cell=cell).eval()
    sessions = [s for s in SESSIONS for _ in range(2)]
    batches = R.SessionParallelBatches(sessions, 3, seed=2)
    x, y, start = batches.plan()
    loss, got = R.SessionLoss(), {}
    with torch.no_grad():
        for t in range(x.size(0)):
            state = R.reset_lanes(loss.state, start[t])
            logits, loss.state = model(x[t, :, None], state)
            for b in range(3):
                got.setdefault(b, []).append(logits[b, 0])
    alone = torch.from_numpy(R.lm_scores(model)(sessions))
    # match lane outputs to events: collect per lane in order, split by start flags
    per_event = []
    for b in range(3):
        cur = []
        for t in range(x.size(0)):
            if start[t, b] and cur:
                per_event.append(cur)
                cur = []
            if y[t, b] != R.IGNORE:
                cur.append((int(x[t, b]), got[b][t]))
        if cur:
            per_event.append(cur)
    offsets = np.cumsum([0] + [len(s) - 1 for s in sessions])
    used = set()
    for run in per_event:
        k = next(k for k, s in enumerate(sessions) if k not in used
                 and [i for i, _ in run] == s[:-1]
                 and torch.allclose(torch.stack([v for _, v in run]),
                                    alone[offsets[k]:offsets[k + 1]], atol=1e-5))
        used.add(k)
    assert len(used) == len(sessions)


def test_session_loss_trains_with_the_book_loop(one_thread):
    torch.manual_seed(0)
    model = CharLM(4, 8, 16, cell="gru")
    sessions = [[0, 1, 2, 3]] * 30 + [[3, 2, 1, 0]] * 30
    hist = train(model, R.SessionParallelBatches(sessions, 8), R.SessionLoss(), steps=150,
                 lr=0.03, progress=False, log=None)
    assert hist.train_loss[-1] < 0.8 * hist.train_loss[0]
    # after 0 then 1 the next item is 2; after 3 then 2 it is 1
    ranks = R.rank_events(R.lm_scores(model), [[0, 1, 2], [3, 2, 1]])
    assert ranks.tolist() == [1.0, 1.0, 1.0, 1.0]


def test_target_ranks_by_hand_with_ties():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1],
                           [0.0, 0.0, 0.0, 0.0],
                           [3.0, 2.0, 1.0, 0.0]])
    targets = torch.tensor([2, 1, 0])
    # row 0: one higher (0.9), one tied (item 0); row 1: three tied; row 2: the best
    assert R.target_ranks(scores, targets).tolist() == [3.0, 4.0, 1.0]
    assert R.target_ranks(scores, targets, "optimistic").tolist() == [2.0, 1.0, 1.0]
    assert R.target_ranks(scores, targets, "mean").tolist() == [2.5, 2.5, 1.0]
    with pytest.raises(ValueError, match="ties"):
        R.target_ranks(scores, targets, "random")
    with pytest.raises(ValueError, match="NaN"):
        R.target_ranks(torch.tensor([[float("nan"), 1.0]]), torch.tensor([1]))
    with pytest.raises(ValueError, match="targets"):
        R.target_ranks(scores, torch.tensor([0, 4, 1]))
    with pytest.raises(ValueError, match=r"\(N, V\)"):
        R.target_ranks(scores[0], targets)


def test_recall_mrr_by_hand():
    ranks = np.array([1.0, 2.0, 4.0, 25.0])
    assert R.recall_mrr(ranks, k=20) == pytest.approx((0.75, (1 + 1 / 2 + 1 / 4) / 4))
    assert R.recall_mrr(ranks, k=1) == pytest.approx((0.25, 0.25))
    with pytest.raises(ValueError, match="no ranks"):
        R.recall_mrr(np.array([]))


def test_events_and_breakdown():
    ev = R.events([[4, 5, 6], [7, 8]])
    assert ev.session.tolist() == [0, 0, 1] and ev.position.tolist() == [1, 2, 1]
    assert ev.length.tolist() == [3, 3, 2] and ev.target.tolist() == [5, 6, 8]
    table = R.breakdown(np.array([1.0, 30.0, 2.0]), ev.position)
    assert table == {1: (2, 1.0, 0.75), 2: (1, 0.0, 0.0)}
    assert R.bucket(np.array([1, 2, 4, 9, 30]), [1, 2, 5, 10]).tolist() == [1, 2, 2, 5, 10]


def test_most_popular():
    pop = R.MostPopular(SESSIONS, 4)
    assert pop.counts.tolist() == [5, 6, 4, 3]
    assert R.rank_events(pop, [[0, 1, 3]]).tolist() == [1.0, 4.0]


def test_markov_counts_transitions():
    m = R.Markov(SESSIONS, 4)
    # transitions: 0->1 x2 (s0, s2), 1->2 x2, 2->0, 1->3, 3->1 x2, 0->2, 2->3, 1->0 x2
    assert m.table[0].tolist() == [0, 2, 1, 0]
    assert m.table[1].tolist() == [2, 0, 2, 1]
    assert m.table[3].tolist() == [0, 2, 0, 0]
    # after 1: items 0 and 2 tie with 2 counts -> the target 2 ranks 2nd (pessimistic)
    # after 2 (then 3): 2->3 once, 2->0 once -> tie -> rank 2
    assert R.rank_events(m, [[1, 2, 3]]).tolist() == [2.0, 2.0]
    assert R.rank_events(m, [[1, 2, 3]], ties="optimistic").tolist() == [1.0, 1.0]


def test_cooccurrence_and_item_knn_by_brute_force():
    co = R.CoOccurrence(SESSIONS, 4)
    sets = [set(s) for s in SESSIONS]
    for i in range(4):
        for j in range(4):
            want = 0 if i == j else sum(i in s and j in s for s in sets)
            assert co.table[i, j] == want
    knn = R.SessionItemKNN(SESSIONS, 4)
    c = [sum(i in s for s in sets) for i in range(4)]
    session = [3, 0, 2, 1]
    got = knn([session])
    for t in range(1, 4):
        for j in range(4):
            want = sum(u / t * co.table[session[u - 1], j] / np.sqrt(c[session[u - 1]] * c[j])
                       for u in range(1, t + 1))
            assert got[t - 1, j] == pytest.approx(want)
    top1 = R.SessionItemKNN(SESSIONS, 4, neighbours=1)
    assert ((top1.sim > 0).sum(1) <= 2).all()     # one neighbour per item (ties may keep 2)
    with pytest.raises(ValueError, match="outside"):
        R.Markov([[0, 9]], 4)
    with pytest.raises(ValueError, match="no training"):
        R.MostPopular([], 4)


def test_rank_events_checks_the_scorer():
    with pytest.raises(ValueError, match="rows"):
        R.rank_events(lambda s: np.zeros((1, 4)), [[0, 1, 2]])


def test_bpr_in_batch_by_hand():
    logits = torch.tensor([[2.0, 0.0, 1.0],
                           [0.5, 1.5, 0.0]], requires_grad=True)
    targets = torch.tensor([0, 1])
    # row 0: positive r=2 (item 0), negative item 1 r=0; row 1: positive 1.5, negative 0.5
    want = -(torch.nn.functional.logsigmoid(torch.tensor(2.0))
             + torch.nn.functional.logsigmoid(torch.tensor(1.0))) / 2
    torch.testing.assert_close(R.bpr_in_batch(logits, targets), want)
    # a lane whose target repeats another's is never its own negative
    same = R.bpr_in_batch(logits.detach()[[0, 0, 1]], torch.tensor([0, 0, 1]))
    pairs = torch.tensor([2.0, 2.0, 1.0])  # rows 0 and 1 vs item 1, row 2 vs item 0 (twice)
    want = -(torch.nn.functional.logsigmoid(pairs).sum()
             + torch.nn.functional.logsigmoid(torch.tensor(1.0))) / 4
    torch.testing.assert_close(same, want)
    with pytest.raises(ValueError, match="two targets"):
        R.bpr_in_batch(logits[:1], targets[:1])
    with pytest.raises(ValueError, match="kind"):
        R.SessionLoss("top1")


def test_bpr_session_loss_trains_and_skips_single_lane_steps(one_thread):
    torch.manual_seed(0)
    model = CharLM(4, 8, 16, cell="gru")
    sessions = [[0, 1, 2, 3]] * 30 + [[3, 2, 1, 0]] * 30
    loss = R.SessionLoss("bpr")
    lone = R.SessionBatch(torch.tensor([[0], [1]]), torch.tensor([[1], [R.IGNORE]]),
                          torch.tensor([True, True]))
    value, n = loss(model, lone)
    assert n == 0 and float(value.detach()) == 0.0 and value.requires_grad
    hist = train(model, R.SessionParallelBatches(sessions, 8), R.SessionLoss("bpr"), steps=150,
                 lr=0.03, progress=False, log=None)
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]
    assert R.rank_events(R.lm_scores(model), [[0, 1, 2], [3, 2, 1]]).tolist() == [1.0] * 4


def test_sampled_ranks_use_the_same_negatives_and_never_the_target():
    rng = np.random.default_rng(0)
    targets = np.array([0, 3, 5, 5])
    neg = R.sample_negatives(targets, 6, 5, rng)
    assert neg.shape == (4, 5)
    for t, row in zip(targets, neg):
        assert sorted(row.tolist()) == [i for i in range(6) if i != t]   # all others, once
    with pytest.raises(ValueError, match="negatives"):
        R.sample_negatives(targets, 6, 6, rng)
    # a scorer that ranks item k at position k (item 0 best): the full rank of target t is
    # t + 1; among 2 sampled negatives it is 1 + the number of sampled items below t
    scorer = lambda ss: -np.tile(np.arange(6.0), (sum(len(s) - 1 for s in ss), 1))  # noqa: E731
    sessions = [[1, 4, 2], [0, 5]]
    assert R.rank_events(scorer, sessions).tolist() == [5.0, 3.0, 6.0]
    sampled = R.rank_events(scorer, sessions, negatives=2, seed=3)
    again = R.rank_events(scorer, sessions, negatives=2, seed=3)
    draws = R.sample_negatives(np.array([4, 2, 5]), 6, 2, np.random.default_rng(3))
    want = [1 + int((d < t).sum()) for d, t in zip(draws, [4, 2, 5])]
    assert sampled.tolist() == again.tolist() == want


def test_bpr_is_zero_not_nan_when_no_lane_has_a_negative():
    logits = torch.randn(2, 5, requires_grad=True)
    loss = R.bpr_in_batch(logits, torch.tensor([3, 3]))
    assert torch.isfinite(loss) and float(loss.detach()) == 0.0
    loss.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    # the session loss counts the lanes that have a negative: none here, two of three below
    model = CharLM(5, 4, 6, cell="gru")
    step = R.SessionBatch(torch.tensor([[0], [1], [2]]), torch.tensor([[3], [3], [R.IGNORE]]),
                          torch.tensor([True, True, True]))
    value, n = R.SessionLoss("bpr")(model, step)
    assert n == 0 and float(value.detach()) == 0.0
    mixed = step._replace(y=torch.tensor([[3], [3], [1]]))
    value, n = R.SessionLoss("bpr")(model, mixed)
    assert n == 3 and torch.isfinite(value) and float(value.detach()) > 0
    lone_pair = step._replace(y=torch.tensor([[3], [1], [R.IGNORE]]))
    assert R.SessionLoss("bpr")(model, lone_pair)[1] == 2


def test_fit_sessions_bpr_trains_when_sessions_share_the_next_item(one_thread):
    """Three lanes that all want item 3 at the first step: BPR has no negative there."""
    torch.manual_seed(0)
    model = CharLM(5, 4, 8, cell="gru")
    before = [p.detach().clone() for p in model.parameters()]
    sessions = [[0, 3], [1, 3], [2, 3]] * 4 + [[0, 1, 2, 4]] * 2
    hist = R.fit_sessions(model, sessions, epochs=2, batch_size=3, lr=0.01, loss="bpr",
                          log=None)
    assert not hist.diverged and all(np.isfinite(hist.train_loss))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("cls", [R.Markov, R.CoOccurrence, R.SessionItemKNN, R.MostPopular])
def test_baselines_refuse_items_outside_the_index_when_scoring(cls):
    scorer = cls(SESSIONS, 4)
    for bad in ([[-1, 1]], [[0, -2, 1]], [[4, 1]], [[1, 2, 7]]):
        with pytest.raises(ValueError, match=r"outside the item indices \[0, 4\)"):
            R.rank_events(scorer, bad)
    assert R.rank_events(scorer, [[0, 1]]).shape == (1,)
    with pytest.raises(ValueError, match="training session"):
        cls([[0, -1]], 4)


def test_positive_counts_are_checked():
    ranks = np.array([1.0, 3.0])
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            R.recall_mrr(ranks, k=k)
        with pytest.raises(ValueError, match="k must be a positive integer"):
            R.breakdown(ranks, np.array([1, 1]), k=k)
    for bad in (0, -3):
        with pytest.raises(ValueError, match="neighbours"):
            R.SessionItemKNN(SESSIONS, 4, neighbours=bad)
        with pytest.raises(ValueError, match="chunk"):
            R.rank_events(R.Markov(SESSIONS, 4), [[0, 1]], chunk=bad)
        with pytest.raises(ValueError, match="batch_size"):
            R.lm_scores(CharLM(4, 2, 3), batch_size=bad)
    with pytest.raises(ValueError, match="negative item"):
        R.SessionParallelBatches([[0, 1], [2, -1]], 2)


def test_lm_scores_of_single_item_sessions_and_bad_items():
    torch.manual_seed(0)
    model = CharLM(6, 4, 5, cell="gru")
    scorer = R.lm_scores(model, batch_size=2)
    assert scorer([[3], [2]]).shape == (0, 6)
    assert R.rank_events(scorer, [[3], [2]]).shape == (0,)
    # a chunk of lone items next to a chunk with events: only the events are ranked
    mixed = [[3], [2], [0, 4, 5]]
    assert R.rank_events(scorer, mixed, chunk=2).tolist() \
        == R.rank_events(scorer, [[0, 4, 5]]).tolist()
    assert scorer(mixed).shape == (2, 6)
    for bad in ([[-1, 1]], [[6, 1]]):
        with pytest.raises(ValueError, match=r"outside the item indices \[0, 6\)"):
            scorer(bad)


def test_sampled_and_optimistic_ranks_never_worse_than_full_pessimistic():
    """By construction: a target among a subset of its competitors, or given the ties, ranks
    no worse; the chapter's sampled and optimistic numbers can only flatter."""
    rng = np.random.default_rng(1)
    sessions = [list(rng.integers(0, 30, size=rng.integers(2, 7))) for _ in range(50)]
    table = rng.integers(0, 4, size=(30, 30)).astype(float)  # few values: many ties
    scorer = lambda ss: table[[i for s in ss for i in s[:-1]]]  # noqa: E731
    full = R.rank_events(scorer, sessions)
    sampled = R.rank_events(scorer, sessions, negatives=10)
    assert (sampled <= full).all() and (sampled < full).any()
    scores = torch.from_numpy(np.random.default_rng(2).integers(0, 3, (40, 30)).astype(float))
    targets = torch.arange(40) % 30
    pess, opt, mean = (R.target_ranks(scores, targets, t)
                       for t in ("pessimistic", "optimistic", "mean"))
    assert (opt <= mean).all() and (mean <= pess).all() and (opt < pess).any()
    for k in (1, 5, 20):
        assert R.recall_mrr(opt, k)[0] >= R.recall_mrr(pess, k)[0]


def test_event_gains_average_to_recall_and_mrr():
    ranks = np.array([1.0, 2.0, 4.0, 25.0])
    hit, rr = R.event_gains(ranks, k=3)
    assert hit.tolist() == [1, 1, 0, 0] and rr.tolist() == [1, 0.5, 0, 0]
    assert (hit.mean(), rr.mean()) == pytest.approx(R.recall_mrr(ranks, k=3))
    with pytest.raises(ValueError, match="k must"):
        R.event_gains(ranks, k=0)


def test_paired_bootstrap_resamples_whole_sessions():
    a = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    same = R.paired_bootstrap(a, a, np.arange(6))
    assert same == (0.0, 0.0, 0.0)
    shifted = R.paired_bootstrap(a + 0.25, a, np.arange(6))
    assert shifted == pytest.approx((0.25, 0.25, 0.25))
    # two sessions: one where a wins on each of its 3 events, one where it loses on its 3:
    # a resample holds 0, 1 or 2 copies of each, so the mean difference is 1, 0 or -1
    groups = np.array([7, 7, 7, 9, 9, 9])
    diff, low, high = R.paired_bootstrap(np.array([1.0] * 3 + [0.0] * 3),
                                         np.array([0.0] * 3 + [1.0] * 3), groups, n=500)
    assert diff == 0 and low == -1 and high == 1
    # many sessions, a better by 0.2 on average: the interval holds 0.2 and excludes 0
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(400), 3)
    b = rng.random(1200)
    diff, low, high = R.paired_bootstrap(b + 0.2 + 0.1 * rng.standard_normal(1200), b, g)
    assert 0 < low < diff < high and low < 0.2 < high
    with pytest.raises(ValueError, match="1-d"):
        R.paired_bootstrap(a, a[:3], np.arange(6))
    with pytest.raises(ValueError, match="level"):
        R.paired_bootstrap(a, a, np.arange(6), level=1.5)
    with pytest.raises(ValueError, match="n must"):
        R.paired_bootstrap(a, a, np.arange(6), n=0)


def test_compare_ranks_gives_recall_and_mrr_differences_with_intervals():
    """Method a finds every target first, b at rank 2 (inside k) or 30 (outside): a leads
    Recall@20 by the share of b's misses and MRR@20 by the mean of 1 - 1/rank_b."""
    a = np.ones(6)
    b = np.array([2.0, 30.0, 2.0, 30.0, 2.0, 2.0])
    groups = np.arange(6)
    d = R.compare_ranks(a, b, groups)
    assert d.recall[0] == pytest.approx(2 / 6) and d.mrr[0] == pytest.approx((4 * 0.5 + 2) / 6)
    assert 0 <= d.recall[1] <= d.recall[0] <= d.recall[2]
    assert d.mrr[1] > 0                    # a beats b on every event: the interval is above 0
    assert d == (R.paired_bootstrap(*[g[0] for g in (R.event_gains(a), R.event_gains(b))],
                                    groups),
                 R.paired_bootstrap(*[g[1] for g in (R.event_gains(a), R.event_gains(b))],
                                    groups))
    assert R.compare_ranks(b, a, groups).recall[0] == pytest.approx(-2 / 6)
    assert R.compare_ranks(a, b, groups, k=1).recall[0] == pytest.approx(1.0)


def test_fit_sessions_is_adam_with_a_one_cycle_warming_up_for_5_percent(one_thread):
    """The recipe written out (Adam, OneCycleLR with pct_start=0.05 over all steps, no
    clipping) gives the very weights of fit_sessions; another warm-up does not."""
    sessions = [[0, 1, 2], [3, 2, 1], [1, 2, 3, 0], [2, 0], [0, 3]] * 3

    def run(pct_start=None):
        torch.manual_seed(0)
        model = CharLM(4, 3, 5, cell="gru")
        if pct_start is None:
            R.fit_sessions(model, sessions, epochs=2, batch_size=2, lr=0.05, log=None)
            return model
        batches = R.SessionParallelBatches(sessions, 2, seed=0)
        steps = 2 * len(batches)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.05, total_steps=steps,
                                                    pct_start=pct_start)
        train(model, batches, R.SessionLoss("xe"), steps=steps, optimizer=opt,
              scheduler=sched, clip=None, progress=False, log=None)
        return model

    fitted, by_hand, other = run(), run(0.05), run(0.3)
    assert all(torch.equal(p, q) for p, q in zip(fitted.parameters(), by_hand.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(fitted.parameters(), other.parameters()))

"""The linear-chain CRF against brute force: log Z, the best path, padding, gradients."""

import itertools

import pytest
import torch

from rnnbook.layers import length_mask
from rnnbook.models.crf import CRF, CRFTagger, iob2_constraints
from rnnbook.models.tagger import Tagger

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def brute_force(crf, emissions, length):
    """Score of every path of one sentence (``emissions`` ``(T, K)``), by enumeration."""
    trans, start, end = (s.detach() for s in crf.scores())
    e = emissions[:length]
    paths, scores = [], []
    for path in itertools.product(range(crf.num_tags), repeat=length):
        s = start[path[0]] + end[path[-1]] + sum(e[t, y] for t, y in enumerate(path))
        s = s + sum(trans[a, b] for a, b in zip(path, path[1:]))
        paths.append(path)
        scores.append(s)
    return paths, torch.stack(scores)


def random_crf(k=4, constraints=None, seed=0):
    torch.manual_seed(seed)
    crf = CRF(k, constraints).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    return crf


@pytest.mark.parametrize("constrained", [False, True])
def test_log_partition_and_viterbi_match_brute_force(constrained):
    k = len(TAGS) if constrained else 3
    crf = random_crf(k, iob2_constraints(TAGS) if constrained else None)
    lengths = torch.tensor([4, 1, 3, 2])
    emissions = torch.randn(4, 4, k, dtype=torch.float64)
    mask = length_mask(lengths, 4, emissions.device)
    with torch.no_grad():
        log_z = crf.log_partition(emissions, mask)
    best = crf.decode(emissions, mask)
    for b, n in enumerate(lengths.tolist()):
        paths, scores = brute_force(crf, emissions[b], n)
        assert float(log_z[b]) == pytest.approx(float(torch.logsumexp(scores, 0)), abs=1e-6)
        assert best[b, :n].tolist() == list(paths[int(scores.argmax())])
        assert (best[b, n:] == -1).all()
        # the score of each path, computed the fast way, is its brute-force score
        for path, s in list(zip(paths, scores))[:: max(1, len(paths) // 7)]:
            tags = torch.zeros(1, 4, dtype=torch.long)
            tags[0, :n] = torch.tensor(path)
            with torch.no_grad():
                fast = crf.score(emissions[b:b + 1], tags, mask[b:b + 1])
            assert float(fast) == pytest.approx(float(s), abs=1e-9)


def test_probabilities_sum_to_one():
    crf = random_crf(3).requires_grad_(False)
    emissions = torch.randn(1, 3, 3, dtype=torch.float64)
    mask = torch.ones(1, 3, dtype=torch.bool)
    log_z = crf.log_partition(emissions, mask)
    total = sum(torch.exp(-crf(emissions, torch.tensor([p]), mask))
                for p in itertools.product(range(3), repeat=3))
    assert float(total) == pytest.approx(1.0, abs=1e-12)
    assert torch.isfinite(log_z).all()


def test_constraints_forbid_invalid_iob2():
    allowed, start, end = iob2_constraints(TAGS)
    i = {t: n for n, t in enumerate(TAGS)}
    assert not allowed[i["O"], i["I-PER"]] and not allowed[i["B-LOC"], i["I-PER"]]
    assert not allowed[i["I-LOC"], i["I-PER"]] and not start[i["I-LOC"]]
    assert allowed[i["B-PER"], i["I-PER"]] and allowed[i["I-PER"], i["I-PER"]]
    assert allowed[i["I-PER"], i["B-LOC"]] and allowed[i["O"], i["O"]] and end.all()
    # emissions that prefer I- tags everywhere still decode to a valid sequence
    crf = CRF(len(TAGS), (allowed, start, end))
    emissions = torch.zeros(2, 6, len(TAGS))
    emissions[..., i["I-PER"]] = 5.0
    emissions[..., i["I-LOC"]] = 4.0
    paths = crf.decode(emissions, torch.ones(2, 6, dtype=torch.bool))
    for path in paths.tolist():
        for a, b in zip([None] + path, path):
            prev = "O" if a is None else TAGS[a]
            if TAGS[b].startswith("I-"):
                assert prev in ("B-" + TAGS[b][2:], TAGS[b])
    with pytest.raises(ValueError, match="IOB2"):
        iob2_constraints(["O", "PER"])


def test_padding_changes_nothing():
    crf = random_crf(len(TAGS), iob2_constraints(TAGS)).float().requires_grad_(False)
    torch.manual_seed(3)
    lengths = [5, 2, 7, 1]
    singles = [torch.randn(1, n, len(TAGS)) for n in lengths]
    tags = [torch.randint(0, 2, (1, n)) for n in lengths]  # O and B-PER only: always valid
    batch = torch.full((4, 7, len(TAGS)), 123.0)  # junk in the padding
    tag_batch = torch.full((4, 7), 4)  # I-LOC in the padding: forbidden after anything else
    for b, (e, y) in enumerate(zip(singles, tags)):
        batch[b, :lengths[b]] = e[0]
        tag_batch[b, :lengths[b]] = y[0]
    mask = length_mask(torch.tensor(lengths), 7, batch.device)
    nll = crf(batch, tag_batch, mask)
    paths = crf.decode(batch, mask)
    for b, (e, y) in enumerate(zip(singles, tags)):
        one = torch.ones(1, lengths[b], dtype=torch.bool)
        assert float(nll[b]) == pytest.approx(float(crf(e, y, one)), abs=1e-5)
        assert paths[b, :lengths[b]].tolist() == crf.decode(e, one)[0].tolist()


def test_gradients_flow_and_gradcheck():
    crf = random_crf(len(TAGS), iob2_constraints(TAGS))
    emissions = torch.randn(3, 4, len(TAGS), dtype=torch.float64, requires_grad=True)
    mask = length_mask(torch.tensor([4, 2, 3]), 4, emissions.device)
    tags = torch.tensor([[1, 2, 0, 3], [3, 4, 0, 0], [0, 1, 2, 0]])
    crf(emissions, tags, mask).sum().backward()
    for p in (emissions, crf.transitions, crf.start, crf.end):
        assert p.grad is not None and torch.isfinite(p.grad).all()
    assert emissions.grad.abs().sum() > 0 and crf.transitions.grad.abs().sum() > 0
    assert (emissions.grad[1, 2:] == 0).all()  # padding gets no gradient
    # forbidden transitions never change
    assert (crf.transitions.grad[~crf.allowed] == 0).all()

    def nll_params(e, a, s, f):  # parameters as inputs, through a functional call
        return torch.func.functional_call(
            crf, {"transitions": a, "start": s, "end": f}, (e, tags, mask))

    inputs = (emissions.detach().requires_grad_(), crf.transitions.detach().clone()
              .requires_grad_(), crf.start.detach().clone().requires_grad_(),
              crf.end.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(nll_params, inputs)


def test_bad_input_is_refused():
    crf = CRF(3)
    e = torch.randn(2, 4, 3)
    mask = torch.ones(2, 4, dtype=torch.bool)
    with pytest.raises(ValueError, match="emissions"):
        crf.log_partition(torch.randn(2, 4, 5), mask)
    with pytest.raises(TypeError):
        crf.log_partition(torch.ones(2, 4, 3, dtype=torch.long), mask)
    with pytest.raises(ValueError, match="empty"):
        crf.log_partition(torch.randn(0, 4, 3), torch.ones(0, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="mask"):
        crf.decode(e, mask.float())
    with pytest.raises(ValueError, match="at least one word"):
        crf.decode(e, torch.tensor([[True] * 4, [False] * 4]))
    with pytest.raises(ValueError, match="prefix"):
        crf.decode(e, torch.tensor([[True, False, True, True]] * 2))
    with pytest.raises(ValueError, match="tags"):
        crf.score(e, torch.zeros(2, 3, dtype=torch.long), mask)
    with pytest.raises(ValueError, match="constraints"):
        CRF(3, (torch.ones(2, 2, dtype=torch.bool), torch.ones(3), torch.ones(3)))


def test_crf_tagger_trains_and_decodes():
    torch.manual_seed(0)
    tagger = Tagger(10, len(TAGS), 8, 8, num_chars=6, char_embed=4, char_hidden=4)
    model = CRFTagger(tagger, iob2_constraints(TAGS))
    assert model.chars is tagger.chars
    words = torch.tensor([[2, 3, 4, 5], [6, 7, 0, 0]])
    lengths = torch.tensor([4, 2])
    chars = torch.randint(1, 6, (2, 4, 3)) * (words > 0).unsqueeze(-1)
    tags = torch.tensor([[1, 2, 0, 3], [3, 4, -100, -100]])
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        loss = model.nll(words, lengths, tags, chars).mean()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1 * first
    assert model.decode(words, lengths, chars).tolist() == [[1, 2, 0, 3], [3, 4, -1, -1]]


@pytest.mark.parametrize("start, end", [((1,), (3,)), ((4,), (3,)), ((4,), (4,)),
                                        ((3,), (1,)), ((3,), (4,))])
def test_constraint_shapes_are_checked(start, end):
    # a chained comparison once let (1,) broadcast and (4,) crash later in decode
    with pytest.raises(ValueError, match=r"constraints must be \(K, K\), \(K,\), \(K,\)"):
        CRF(3, (torch.ones(3, 3, dtype=torch.bool), torch.ones(start, dtype=torch.bool),
                torch.ones(end, dtype=torch.bool)))


def test_tag_ids_out_of_range_are_refused():
    crf = CRF(3)
    e = torch.randn(2, 3, 3)
    mask = torch.tensor([[True] * 3, [True, True, False]])
    for bad in (3, -1):
        tags = torch.tensor([[0, 1, 2], [1, bad, 0]])
        with pytest.raises(ValueError, match=r"tag ids must lie in \[0, 3\)"):
            crf.score(e, tags, mask)
        with pytest.raises(ValueError, match=r"tag ids must lie in \[0, 3\)"):
            crf(e, tags, mask)
    # padded positions may hold any id (e.g. -100 or an id past K)
    tags = torch.tensor([[0, 1, 2], [1, 2, 7]])
    assert torch.isfinite(crf(e, tags, mask)).all()


def test_a_forbidden_gold_path_is_refused():
    crf = CRF(len(TAGS), iob2_constraints(TAGS))
    e = torch.randn(2, 3, len(TAGS))
    mask = torch.tensor([[True] * 3, [True, True, False]])
    ok = torch.tensor([[0, 1, 2], [3, 4, 2]])  # the padded I-PER after I-LOC is not read
    assert torch.isfinite(crf(e, ok, mask)).all()
    for bad, which in (([[0, 2, 0], [3, 4, 0]], [True, False]),  # O -> I-PER
                       ([[2, 2, 0], [3, 4, 0]], [True, False]),  # starts with I-PER
                       ([[0, 1, 2], [1, 4, 0]], [False, True])):  # B-PER -> I-LOC
        tags = torch.tensor(bad)
        with pytest.raises(ValueError, match="break the constraints"):
            crf(e, tags, mask)
        assert crf.forbidden(tags, mask).tolist() == which
    assert not crf.forbidden(ok, mask).any()
    # score itself stays defined for any path: a forbidden one scores -inf (for enumeration)
    assert crf.score(e, torch.tensor([[0, 2, 0], [3, 4, 0]]), mask)[0] == float("-inf")
    # a forbidden end counts too
    end = torch.tensor([True, False, True])
    crf = CRF(3, (torch.ones(3, 3, dtype=torch.bool), torch.ones(3, dtype=torch.bool), end))
    with pytest.raises(ValueError, match="break the constraints"):
        crf(torch.randn(1, 2, 3), torch.tensor([[0, 1]]), torch.ones(1, 2, dtype=torch.bool))


def _mask(rows):
    return torch.tensor(rows, dtype=torch.bool)


@pytest.mark.parametrize("allowed, start, end, length", [
    ([[0, 0], [0, 0]], [1, 1], [1, 1], 2),  # no transition at all: nothing past one word
    ([[0, 1], [0, 0]], [1, 0], [0, 1], 1),  # 0 -> 1 only: no one-word path
    ([[0, 1], [1, 0]], [1, 0], [0, 1], 1),  # alternating: odd lengths end in 0
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [1, 0, 0], [1, 1, 1], 4),  # a chain dies out
])
def test_constraints_that_allow_no_path_are_refused(allowed, start, end, length):
    with pytest.raises(ValueError, match=f"no tag path for a sentence of {length} word"):
        CRF(len(start), (_mask(allowed), _mask(start), _mask(end)))


def test_constraints_with_a_path_for_every_length_are_accepted():
    # alternating, but either tag may end: every length has a path; decode finds one
    crf = CRF(2, (_mask([[0, 1], [1, 0]]), _mask([1, 0]), _mask([1, 1])))
    e = torch.randn(1, 5, 2)
    assert crf.decode(e, torch.ones(1, 5, dtype=torch.bool)).tolist() == [[0, 1, 0, 1, 0]]
    CRF(len(TAGS), iob2_constraints(TAGS))

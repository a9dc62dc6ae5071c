"""Attention, the encoder-decoder and its task: parity with PyTorch, masking, decoding."""

import math

import pytest
import torch
import torch.nn.functional as F

from rnnbook.batching import PaddedBatches
from rnnbook.layers.attention import Attention, dot_attention, masked_softmax
from rnnbook.models.seq2seq import Seq2Seq
from rnnbook.tasks import decoding as dec
from rnnbook.tasks import seq2seq as s2
from rnnbook.text import IGNORE, Vocab, pad
from rnnbook.train import train

BOS, EOS = 2, 3


def _qkv(seed=0, b=3, tq=4, s=6, d=5, v=7):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(b, tq, d, generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn(b, s, d, generator=g, dtype=torch.float64, requires_grad=True)
    val = torch.randn(b, s, v, generator=g, dtype=torch.float64, requires_grad=True)
    lengths = torch.tensor([s, 2, 4])[:b]
    mask = torch.arange(s)[None] < lengths[:, None]
    return q, k, val, mask


@pytest.mark.parametrize("scale", [None, 1.0, 0.3])
def test_dot_attention_matches_torch_sdpa_values_and_gradients(scale):
    q, k, v, mask = _qkv()
    ours, weights = dot_attention(q, k, v, mask, scale=scale)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, :], scale=scale)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)
    assert torch.all(weights[~mask[:, None, :].expand_as(weights)] == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones_like(weights.sum(-1)))
    upstream = torch.randn_like(ours)
    g_ours = torch.autograd.grad((ours * upstream).sum(), (q, k, v))
    g_ref = torch.autograd.grad((ref * upstream).sum(), (q, k, v))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_dot_score_module_is_unscaled_dot_attention():
    q, k, _, mask = _qkv(d=6, v=6)
    att = Attention(6, 6, "dot").double()
    ctx, w = att(q, k, mask)
    ref_ctx, ref_w = dot_attention(q, k, k, mask, scale=1.0)
    torch.testing.assert_close(ctx, ref_ctx)
    torch.testing.assert_close(w, ref_w)


def test_general_and_additive_scores_follow_their_equations():
    q, k, _, mask = _qkv(d=5)
    torch.manual_seed(0)
    gen = Attention(5, 5, "general").double()
    e = torch.einsum("btq,qk,bsk->bts", q, gen.w.weight.T, k)  # q^T W h
    torch.testing.assert_close(gen.scores(q, k), e)
    add = Attention(5, 5, "additive", attention_size=4).double()
    e = torch.stack([torch.stack([add.v(torch.tanh(add.w_q(q[:, t]) + add.w_k(k[:, s])))[:, 0]
                                  for s in range(k.size(1))], -1) for t in range(q.size(1))], 1)
    torch.testing.assert_close(add.scores(q, k), e)
    ctx, w = add(q, k, mask)
    torch.testing.assert_close(ctx, torch.bmm(masked_softmax(e, mask), k))


@pytest.mark.parametrize("score", ["dot", "general", "additive"])
def test_padding_keys_changes_no_attention_output(score):
    q, k, _, mask = _qkv(d=5)
    att = Attention(5, 5, score).double()
    ctx, w = att(q, k, mask)
    garbage = torch.where(mask[..., None], k, torch.full_like(k, 1e3))  # junk in the padding
    longer = torch.cat([garbage, torch.randn(3, 2, 5, dtype=torch.float64)], 1)
    ctx2, w2 = att(q, longer, torch.cat([mask, torch.zeros(3, 2, dtype=torch.bool)], 1))
    torch.testing.assert_close(ctx2, ctx)
    torch.testing.assert_close(w2[..., :6], w)
    assert torch.all(w2[..., 6:] == 0)


def test_attention_errors_are_clear():
    att = Attention(4, 6, "general")
    with pytest.raises(ValueError, match="3-D"):
        att(torch.randn(2, 4), torch.randn(2, 6))
    with pytest.raises(ValueError, match="query features"):
        att(torch.randn(2, 1, 5), torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match="batch sizes"):
        att(torch.randn(3, 1, 4), torch.randn(2, 3, 6))
    with pytest.raises(ValueError, match="boolean"):
        att(torch.randn(2, 1, 4), torch.randn(2, 3, 6), torch.ones(2, 3))
    with pytest.raises(ValueError, match="mask of shape"):
        att(torch.randn(2, 1, 4), torch.randn(2, 3, 6), torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="no real token"):
        att(torch.randn(2, 1, 4), torch.randn(2, 3, 6), torch.zeros(2, 3, dtype=torch.bool))
    with pytest.raises(ValueError, match="query_size == key_size"):
        Attention(4, 6, "dot")
    with pytest.raises(ValueError, match="score must be"):
        Attention(4, 6, "cosine")
    with pytest.raises(ValueError, match="equal"):
        dot_attention(torch.randn(2, 1, 4), torch.randn(2, 3, 5), torch.randn(2, 3, 5))


def _model(attention="general", seed=0, cell="gru", v_src=11, v_tgt=9):
    torch.manual_seed(seed)
    return Seq2Seq(v_src, v_tgt, embed=6, hidden=8, attention=attention, cell=cell,
                   dropout=0.0).eval()


SOURCES = [[5, 6, 7], [8, 9, 10, 4, 5, 6], [4]]


@pytest.mark.parametrize("attention", [None, "general", "additive"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_padding_a_source_changes_no_output(attention, cell):
    model = _model(attention, cell=cell)
    tgt = torch.tensor([[BOS, 4, 5, 6, 7]] * 3)
    x, lengths = pad(SOURCES)
    wider = torch.cat([x, torch.zeros(3, 3, dtype=torch.long)], 1)
    filled = torch.where(wider == 0, 7, wider)  # real words in the padded positions
    with torch.no_grad():
        alone = torch.cat([model(torch.tensor([s]), torch.tensor([len(s)]), tgt[:1])
                           for s in SOURCES])
        for batch in (x, wider, filled):
            torch.testing.assert_close(model(batch, lengths, tgt), alone, rtol=1e-5, atol=1e-6)
        one = [dec.greedy(model, torch.tensor([s]), torch.tensor([len(s)]), BOS, EOS, 6)
               for s in SOURCES]
        many = dec.greedy(model, filled, lengths, BOS, EOS, 6)
        for i, h in enumerate(one):
            n = int(h.lengths[0])
            assert many.tokens[i, :n].tolist() == h.tokens[0, :n].tolist()
            torch.testing.assert_close(many.scores[i], h.scores[0], rtol=1e-5, atol=1e-6)


def test_loss_masks_padded_targets():
    model = _model()
    targets = [[BOS, 4, 5, EOS], [BOS, 6, EOS], [BOS, 7, 8, 4, 5, EOS]]
    examples = list(zip(SOURCES, targets))
    batch = next(iter(PaddedBatches(examples, 3, shuffle=False)))
    loss, n = s2.Seq2SeqLoss()(model, batch)
    assert n == sum(len(t) - 1 for t in targets)
    total = 0.0
    for s, t in examples:
        with torch.no_grad():
            logits = model(torch.tensor([s]), torch.tensor([len(s)]), torch.tensor([t[:-1]]))
        total += float(F.cross_entropy(logits[0], torch.tensor(t[1:]), reduction="sum"))
    assert math.isclose(float(loss.detach()), total / n, rel_tol=1e-5)
    y = batch.y.clone()
    y[y == IGNORE] = 5  # the same batch with real ids in the padding would change the loss
    with torch.no_grad():
        other = float(s2.Seq2SeqLoss()(model, batch._replace(y=y))[0])
    assert not math.isclose(other,
                            float(loss.detach()), rel_tol=1e-4)


def test_teacher_forcing_shapes_and_errors():
    y = torch.tensor([[BOS, 4, EOS, IGNORE], [BOS, 4, 5, EOS]])
    tgt_in, target = s2.teacher_forcing(y)
    assert tgt_in.tolist() == [[BOS, 4, EOS], [BOS, 4, 5]]
    assert target.tolist() == [[4, EOS, IGNORE], [4, 5, EOS]]
    with pytest.raises(ValueError, match="steps >= 2"):
        s2.teacher_forcing(torch.tensor([[BOS], [BOS]]))


def test_model_errors_are_clear():
    model = _model()
    with pytest.raises(ValueError, match=r"\(batch, steps\)"):
        model.encode(torch.tensor([5, 6]), torch.tensor([2]))
    with pytest.raises(ValueError, match="int64"):
        model.encode(torch.ones(1, 2), torch.tensor([2]))
    with pytest.raises(ValueError, match="lengths"):
        model.encode(torch.ones(2, 2, dtype=torch.long), torch.tensor([2]))
    with pytest.raises(ValueError, match="between 1 and 2"):
        model.encode(torch.ones(1, 2, dtype=torch.long), torch.tensor([3]))
    with pytest.raises(ValueError, match="empty"):
        model.encode(torch.ones(0, 2, dtype=torch.long), torch.tensor([], dtype=torch.long))
    memory, state = model.encode(torch.ones(2, 2, dtype=torch.long), torch.tensor([2, 1]))
    with pytest.raises(ValueError, match="target ids"):
        model.decode(torch.ones(3, 2, dtype=torch.long), memory, state)


def _sources(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    seqs = [torch.randint(4, 11, (int(torch.randint(1, 7, (1,), generator=g)),),
                          generator=g).tolist() for _ in range(n)]
    return pad(seqs)


@pytest.mark.parametrize("attention", [None, "general", "additive"])
def test_beam_of_one_is_greedy(attention):
    model = _model(attention, seed=1)
    x, lengths = _sources()
    g = dec.greedy(model, x, lengths, BOS, EOS, 8)
    b = dec.beam_search(model, x, lengths, BOS, EOS, beam=1, max_len=8)
    assert b.lengths.tolist() == g.lengths.tolist()
    for i, n in enumerate(g.lengths.tolist()):
        assert b.tokens[i, :n].tolist() == g.tokens[i, :n].tolist()
    torch.testing.assert_close(b.scores, g.scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("alpha", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_never_scores_below_greedy_and_reports_true_scores(alpha, seed):
    model = _model("general", seed=seed)
    x, lengths = _sources(16, seed)
    g = dec.greedy(model, x, lengths, BOS, EOS, 8)
    for beam in (2, 4):
        b = dec.beam_search(model, x, lengths, BOS, EOS, beam=beam, max_len=8, alpha=alpha)
        assert torch.all(dec.normalised(b.scores, b.lengths, alpha)
                         >= dec.normalised(g.scores, g.lengths, alpha) - 1e-5)
        # the scores the search reports are the model's log-probabilities of its output
        torch.testing.assert_close(
            dec.sequence_logp(model, x, lengths, b.tokens, b.lengths, BOS), b.scores,
            rtol=1e-4, atol=1e-4)
        # every row ends at its length: <eos> there, or max_len without it
        for row, n in zip(b.tokens.tolist(), b.lengths.tolist()):
            assert row[n - 1] == EOS or n == 8
            assert EOS not in row[:n - 1]


def test_beam_search_finds_the_best_sequence_when_wide_enough():
    # 2 words + <eos> (and <unk>) to choose from, 3 steps: a beam of 64 keeps every prefix
    model = _model("general", seed=3, v_tgt=6)
    x, lengths = _sources(4, 3)
    alpha, max_len = 0.0, 3
    b = dec.beam_search(model, x, lengths, BOS, EOS, beam=64, max_len=max_len, alpha=alpha,
                       greedy_floor=False)
    import itertools
    words = [1, 3, 4, 5]  # <unk>, <eos>, two words
    best = torch.full((4,), -math.inf)
    for n in range(1, max_len + 1):
        for seq in itertools.product(words, repeat=n):
            if EOS in seq[:-1] or (n < max_len and seq[-1] != EOS):
                continue
            hyp = torch.tensor([list(seq)] * 4)
            s = dec.sequence_logp(model, x, lengths, hyp, torch.full((4,), n), BOS)
            best = torch.maximum(best, s)
    torch.testing.assert_close(b.scores, best, rtol=1e-5, atol=1e-5)


def test_normalise_expands_contractions_and_drops_punctuation():
    assert s2.normalise(["i'm", "cold", "."]) == ("i", "am", "cold")
    assert s2.normalise(["I", "am", "cold", "!"]) == ("i", "am", "cold")
    assert s2.normalise(["you\u2019re", "tall"]) == s2.normalise(["you", "are", "tall", "."])
    assert s2.normalise(["he", "doesn't", "know", "."]) == ("he", "does", "not", "know")
    assert s2.normalise(["i", "can't", "."]) == s2.normalise(["i", "cannot"]) == ("i", "can",
                                                                                   "not")
    assert s2.normalise(["j'", "ai", "froid", "."]) == ("j'", "ai", "froid")
    with pytest.raises(TypeError, match="tokenize"):
        s2.normalise("i'm cold.")


def _tok(text):
    return s2.tokenize_en(text)


def _twins():
    """Pairs with contraction twins and French targets shared across sources."""
    pairs = []
    for i in range(40):
        w = f"w{i}"
        pairs.append((_tok(f"i'm {w}."), _tok(f"je suis {w} .")))
        pairs.append((_tok(f"I am {w}!"), _tok(f"je suis {w} !")))
        pairs.append((_tok(f"you're {w}."), _tok(f"tu es {w} .")))
        pairs.append((_tok(f"you are {w}."), _tok(f"vous êtes {w} .")))
    # a source whose French is also the French of another source ("i'm sick" / "i'm ill")
    for i in range(0, 40, 4):
        pairs.append((_tok(f"i'm x{i}."), _tok(f"je suis w{i} .")))
    return pairs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grouped_split_leaks_nothing(seed):
    pairs = _twins()
    train, test, dropped = s2.grouped_split(pairs, 0.3, seed=seed)
    train_src = {s2.normalise(e) for e, _ in train}
    test_src = [s2.normalise(e) for e, _ in test]
    assert not train_src & set(test_src)  # no normalised source on both sides
    assert len(set(test_src)) == len(test_src)  # contraction twins are one test item
    targets = {tuple(f) for _, f in train}
    ntargets = {s2.normalise(f) for _, f in train}
    for _, refs in test:  # no reference is (punctuation aside) a training target
        assert not any(tuple(r) in targets or s2.normalise(r) in ntargets for r in refs)
    # every pair is in training, in a test item's references, or in a dropped group
    n_test_pairs = sum(len(r) for _, r in test)
    assert len(train) + n_test_pairs <= len(pairs)
    assert (dropped > 0) == (len(train) + n_test_pairs < len(pairs))


def test_grouped_split_keeps_twins_together_and_collects_their_references():
    pairs = _twins()
    train, test, _ = s2.grouped_split(pairs, 0.3, seed=0)
    for src, refs in test:
        key = s2.normalise(src)
        twins = [e for e, _ in pairs if s2.normalise(e) == key]
        assert refs == [f for e, f in pairs if s2.normalise(e) == key]
        assert len(twins) == 2 or key[-1].startswith("x")  # "i'm w" and "i am w"
        assert not any(e in twins for e, _ in train)  # both are out of training


def test_grouped_split_drops_a_test_source_whose_reference_is_a_training_target():
    a, b = (_tok("i'm ill."), _tok("je suis malade .")), (_tok("i'm sick."),
                                                           _tok("je suis malade !"))
    others = [(_tok(f"he is w{i}."), _tok(f"il est w{i} .")) for i in range(8)]
    for seed in range(20):
        split = s2.grouped_split([a, b] + others, 0.2, seed=seed)
        held = [s for s, _ in split.test]
        # "i'm ill" and "i'm sick" share a French translation: one cannot be tested while the
        # other is trained on; when exactly one of them is held out, it is dropped
        in_train = [p[0] in [e for e, _ in split.train] for p in (a, b)]
        if in_train.count(True) == 1:
            assert split.dropped >= 1 and a[0] not in held and b[0] not in held
    with pytest.raises(ValueError, match="test_fraction"):
        s2.grouped_split(others, 1.0)
    with pytest.raises(ValueError, match="two distinct"):
        s2.grouped_split([a, (_tok("i am ill !"), _tok("je suis malade ."))], 0.5)


def test_prefix_filter_and_scores():
    pairs = [("I'm cold.", "J'ai froid."), ("It is cold.", "Il fait froid."),
             ("You are a very very very very very very very kind person.", "Tu es gentil.")]
    assert s2.prefix_filter(pairs) == [(["i'm", "cold", "."], ["j'", "ai", "froid", "."])]
    refs = [[["j'ai", "froid", "."], ["je", "suis", "froid", "."]], [["il", "fait", "froid"]]]
    sc = s2.corpus_scores([["je", "suis", "froid", "."], ["il", "fait", "froid"]], refs)
    assert sc["bleu"] == pytest.approx(100.0)
    assert sc["bleu_single"] < 100.0
    assert s2.reference_streams(refs)[1] == ["je suis froid .", None]
    with pytest.raises(ValueError, match="hypotheses"):
        s2.corpus_scores([["a"]], refs)
    sig = s2.signatures(refs)
    assert sig["bleu"].startswith("nrefs:var|") and "tok:none" in sig["bleu"]
    assert "nrefs:1|" in s2.signatures(refs[1:])["bleu"] and "nc:6" in sig["chrf"]


class TreeModel(torch.nn.Module):
    """A stand-in decoder whose next-token probabilities depend on the prefix only: ``tree``
    maps a prefix (a tuple of ids) to ``{token: probability}`` (default: ``<eos>`` for sure).
    The state holds the prefix, so beam search reorders it like a real state."""

    pad_id = 0

    def __init__(self, tree, vocab=10, width=8):
        super().__init__()
        self.tree, self.vocab, self.width = tree, vocab, width

    def encode(self, src, lengths):
        from rnnbook.models.seq2seq import Memory

        b = src.size(0)
        memory = Memory(torch.zeros(b, 1, 1), torch.ones(b, 1, dtype=torch.bool), torch.zeros(b, 1))
        return memory, torch.zeros(1, b, self.width, dtype=torch.long)

    def step(self, prev, memory, state):
        state, rows = state.clone(), []
        for r in range(prev.size(0)):
            prefix = [int(t) for t in state[0, r] if t > 0] + [int(prev[r])] * (prev[r] > BOS)
            state[0, r, :len(prefix)] = torch.tensor(prefix, dtype=torch.long)
            p = torch.full((self.vocab,), 1e-6)
            for tok, prob in self.tree.get(tuple(prefix), {EOS: 1.0}).items():
                p[tok] = prob
            rows.append(p.log())
        return torch.stack(rows), state, None


def test_beam_search_can_lose_the_greedy_path_and_the_floor_restores_it():
    # greedy: a (.4) d (.34) <eos> (1) = .136. A beam of 2 keeps a and b; then b d (.21) and
    # b e (.14) outrank every extension of a, and b's continuations end worse (<= .0315).
    spread = {EOS: 0.1, **{t: 0.15 for t in range(4, 10)}}
    tree = {(): {4: 0.4, 5: 0.35, 6: 0.25}, (4,): {7: 0.34, 8: 0.33, 9: 0.33},
            (5,): {7: 0.6, 8: 0.4}, (4, 7): {EOS: 1.0}, (5, 7): spread, (5, 8): spread}
    model = TreeModel(tree)
    x, lengths = torch.ones(1, 1, dtype=torch.long), torch.tensor([1])
    g = dec.greedy(model, x, lengths, BOS, EOS, max_len=3)
    assert g.tokens[0].tolist() == [4, 7, EOS]
    assert float(g.scores[0]) == pytest.approx(math.log(0.4 * 0.34), rel=1e-4)
    lost = dec.beam_search(model, x, lengths, BOS, EOS, beam=2, max_len=3, alpha=0.0,
                          greedy_floor=False)
    assert float(lost.scores[0]) == pytest.approx(math.log(0.35 * 0.6 * 0.15), rel=1e-4)
    kept = dec.beam_search(model, x, lengths, BOS, EOS, beam=2, max_len=3, alpha=0.0)
    assert kept.tokens[0, :3].tolist() == [4, 7, EOS]
    torch.testing.assert_close(kept.scores, g.scores)


def test_french_elisions_are_split_off():
    assert s2.tokenize_fr("J'ai l'air d'être aujourd'hui, qu’il s'en va.") == [
        "j'", "ai", "l'", "air", "d'", "être", "aujourd'hui", ",", "qu'", "il", "s'", "en",
        "va", "."]
    assert s2.tokenize_en("I'm cold.") == ["i'm", "cold", "."]


@pytest.mark.parametrize("beam", [1, 3])
def test_translate_keeps_the_order_across_batches(beam):
    src_vocab = Vocab.build([list("abcdefg")])  # 4 specials + 7 words = 11 ids
    tgt_vocab = Vocab.build([list("vwxyz")])  # 4 + 5 = 9
    assert (len(src_vocab), len(tgt_vocab), tgt_vocab[s2.BOS], tgt_vocab[s2.EOS]) == \
        (11, 9, BOS, EOS)
    model = _model("general", seed=3)
    sources = [list("abc"), list("gfedcb"), list("a"), list("dd"), list("bgb")]
    out = dec.translate(model, sources, src_vocab, tgt_vocab, beam=beam, max_len=6,
                        batch_size=2)  # three batches
    assert len(out) == len(sources)
    for s, t in zip(sources, out):  # each as if translated alone
        x, lengths = pad([src_vocab.encode(s)])
        h = (dec.greedy(model, x, lengths, BOS, EOS, 6) if beam == 1 else
             dec.beam_search(model, x, lengths, BOS, EOS, beam=beam, max_len=6))
        assert t.tokens == dec.strip(h.tokens[0].tolist(), tgt_vocab)
        assert t.score == pytest.approx(float(dec.normalised(h.scores, h.lengths, 1.0)[0]),
                                        abs=1e-5)
        if beam == 1:  # greedy decoding with attention returns the weights, source cut
            assert t.weights.shape == (int(h.lengths[0]), len(s))
        else:
            assert t.weights is None
    with pytest.raises(ValueError, match="nothing"):
        dec.translate(model, [], src_vocab, tgt_vocab)


def test_pair_batches_carry_bos_and_eos_and_pad_with_ignore():
    pairs = [(["a", "b"], ["x"]), (["c"], ["y", "z"])]
    src_vocab, tgt_vocab = s2.build_vocabs(pairs)
    x, lengths, y = next(iter(s2.pair_batches(pairs, src_vocab, tgt_vocab, 2, shuffle=False)))
    assert lengths.tolist() == [2, 1] and x[1, 1] == 0
    assert y[:, 0].tolist() == [BOS, BOS] and y[0].tolist()[2:] == [EOS, IGNORE]
    assert y[1, 3] == EOS


PAIRS = [(list("ab"), list("xy")), (list("ba"), list("yx")), (list("a"), list("x")),
         (list("bb"), list("yy"))] * 3


def _run_pieces():
    """A small model (seed 0) and fresh batches of PAIRS (seed 0)."""
    src_vocab, tgt_vocab = s2.build_vocabs(PAIRS)
    torch.manual_seed(0)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), embed=6, hidden=8, dropout=0.1)
    return model, s2.pair_batches(PAIRS, src_vocab, tgt_vocab, 4)


def _pairs_and_run(total=8, warmup=0.25):
    model, data = _run_pieces()
    return model, data, s2.TranslationRun(model, data, total_steps=total, lr=0.01,
                                          warmup=warmup, label_smoothing=0.1)


def test_translation_run_in_segments_is_one_schedule():
    # two segments of a run = the recipe written out, each segment a new pass of the batches
    model, _, run = _pairs_and_run()
    run.fit(5, log=None)
    h = run.fit(3, log=None)
    assert run.steps == 8 and h.step == [5, 8] and len(h.grad_norm) == 8
    twin, data = _run_pieces()
    opt = torch.optim.AdamW(twin.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.01, total_steps=8, pct_start=0.25)
    for steps in (5, 3):
        train(twin, data, s2.Seq2SeqLoss(0.1), steps=steps, optimizer=opt, scheduler=sched,
              clip=5.0, eval_every=steps, log=None)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(),
                                                 twin.state_dict().values()))
    with pytest.raises(ValueError, match="total_steps"):
        s2.TranslationRun(model, data, total_steps=0, lr=0.01)

def test_translation_run_keeps_the_first_best_score():
    model, _, run = _pairs_and_run(total=9)
    scores = iter([1.0, 3.0, 3.0])
    kept = {}

    def score(m):
        value = next(scores)
        kept[value] = kept.get(value) or {k: v.clone() for k, v in m.state_dict().items()}
        return value

    with pytest.raises(ValueError, match="score_fn"):
        run.restore_best()
    for _ in range(3):
        run.fit(3, score_fn=score, log=None)
    assert run.history.scores == [1.0, 3.0, 3.0] and run.history.score_steps == [3, 6, 9]
    assert run.restore_best() == (3.0, 6)  # the first of the two best
    assert all(torch.equal(v, kept[3.0][k]) for k, v in model.state_dict().items())

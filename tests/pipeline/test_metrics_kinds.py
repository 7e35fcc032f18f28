"""SQuAD, seqeval, MultiRC and ReCoRD metrics against values computed by hand from the
official definitions. Each case is picked so that a plausible wrong implementation fails it."""

import pytest

from pipeline.metrics_kinds import (multirc_scores, record_scores, seqeval_f1, squad_em_f1,
                                    squad_normalize, squad_scores)

approx = pytest.approx


# --- SQuAD --------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    # lower -> "the theater's  a-show!"; punctuation deleted -> "the theaters  ashow";
    # only the whole word "the" goes ("theaters" keeps its "the", "ashow" its "a")
    ("The Theater's  a-show!", "theaters ashow"),
    # punctuation is deleted, not replaced by a space (else "a b" -> article "a" -> "b")
    ("a.b", "ab"),
    ("An apple,\tthe  END", "apple end"),
    ("THE", ""),
])
def test_squad_normalize(text, expected):
    assert squad_normalize(text) == expected


def test_squad_max_over_golds_not_mean():
    # pred -> [cat, sat]. vs "cat": 1 common, P=1/2 R=1 -> F1=2/3;
    # vs "cat sat down": 2 common, P=1 R=2/3 -> F1=0.8. Max 0.8 (the mean would be 0.7333)
    assert squad_em_f1("the cat sat", ["a cat", "cat sat down"]) == (0.0, approx(0.8))
    # a third gold equal after normalisation ("cat sat") gives EM 1 and F1 1
    assert squad_em_f1("the cat sat", ["a cat", "cat sat down", "The cat, sat."]) == (1.0, 1.0)


def test_squad_f1_counts_repeated_tokens_as_a_multiset():
    # [cat, cat] vs [cat, cat, dog]: Counter & -> 2 common; P=2/2 R=2/3 -> F1=0.8
    # (with sets: 1 common, P=1/2 R=1/3 -> 0.4)
    assert squad_em_f1("cat cat", ["cat cat dog"]) == (0.0, approx(0.8))
    # [cat, cat, cat] vs [cat, dog]: min(3, 1) = 1 common; P=1/3 R=1/2 -> F1 = (1/3)/(5/6) = 0.4
    # (counting every predicted "cat" as found: 3 common -> P=1, R=3/2)
    assert squad_em_f1("cat cat cat", ["cat dog"]) == (0.0, approx(0.4))


def test_squad_no_common_tokens_and_empty_answers():
    assert squad_em_f1("dog", ["cat"]) == (0.0, 0.0)
    # both normalise to "": v1.1 counts EM 1 but F1 0 (no common token)
    assert squad_em_f1("the", ["a"]) == (1.0, 0.0)


def test_squad_scores_mean_over_questions_and_score_is_f1():
    # q1: EM 0, F1 0.8 (as above); q2: "dog" vs "Dog!" -> EM 1, F1 1
    s = squad_scores(["the cat sat", "dog"], [["cat sat down"], ["Dog!"]])
    assert s == {"exact_match": 0.5, "f1": approx(0.9), "score": approx(0.9)}
    with pytest.raises(ValueError):
        squad_scores(["a"], [["a"], ["b"]])


# --- seqeval (default mode) -----------------------------------------------------------------

def test_seqeval_i_tag_starts_an_entity():
    # gold "I-PER I-PER O" (IOB1) = one entity PER[0..1], same as the predicted B-PER I-PER
    s = seqeval_f1([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])
    assert s == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "score": 1.0}


def test_seqeval_b_after_i_of_same_type_starts_a_new_entity():
    # gold "I-PER B-PER" = PER[0..0], PER[1..1]; pred "B-PER B-PER" = the same two
    assert seqeval_f1([["B-PER", "B-PER"]], [["I-PER", "B-PER"]])["f1"] == 1.0
    # pred "B-PER I-PER" = one PER[0..1], matching neither: P=0/1, R=0/2
    s = seqeval_f1([["B-PER", "I-PER"]], [["I-PER", "B-PER"]])
    assert (s["precision"], s["recall"], s["f1"]) == (0.0, 0.0, 0.0)
    # pred "B-PER O" = PER[0..0], the first gold entity (it ends where B-PER begins):
    # P=1/1, R=1/2 -> F1 = 2/3
    s = seqeval_f1([["B-PER", "O"]], [["I-PER", "B-PER"]])
    assert (s["precision"], s["recall"], s["f1"]) == (1.0, 0.5, approx(2 / 3))


def test_seqeval_type_change_ends_an_entity():
    # gold "B-PER I-LOC I-LOC" = PER[0..0], LOC[1..2]. pred "B-PER B-LOC I-LOC" is the same.
    assert seqeval_f1([["B-PER", "B-LOC", "I-LOC"]], [["B-PER", "I-LOC", "I-LOC"]])["f1"] == 1.0
    # pred "B-PER I-PER I-LOC" = PER[0..1], LOC[2..2]: no match -> 0
    assert seqeval_f1([["B-PER", "I-PER", "I-LOC"]], [["B-PER", "I-LOC", "I-LOC"]])["f1"] == 0.0
    # pred "B-PER O O" = PER[0..0], the gold PER (ended by the type change): P=1, R=1/2
    s = seqeval_f1([["B-PER", "O", "O"]], [["B-PER", "I-LOC", "I-LOC"]])
    assert (s["precision"], s["recall"], s["f1"]) == (1.0, 0.5, approx(2 / 3))


def test_seqeval_entities_do_not_cross_sentences():
    # gold: sentence 1 "O B-PER" = PER[1..1]; sentence 2 "I-PER O" = PER[0..0] (a new entity,
    # not the continuation of sentence 1's). pred marks both with B-PER: 2/2 right.
    gold = [["O", "B-PER"], ["I-PER", "O"]]
    pred = [["O", "B-PER"], ["B-PER", "O"]]
    assert seqeval_f1(pred, gold)["f1"] == 1.0


def test_seqeval_micro_average_over_types_and_exact_spans():
    gold = [["B-PER", "O", "B-LOC", "O", "B-LOC", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"]]
    pred = [["B-PER", "O", "B-LOC", "O", "O", "O", "B-MISC"], ["B-ORG", "O", "O"]]
    # gold: PER, LOC x3, ORG[0..1] = 5; pred: PER, LOC[2..2], MISC, ORG[0..0] = 4.
    # Right: PER, LOC[2..2] = 2 (ORG[0..0] is not ORG[0..1]). P = 2/4, R = 2/5,
    # F1 = 2 * (1/2)(2/5) / (1/2 + 2/5) = (2/5)/(9/10) = 4/9.
    # (Macro over types would be (PER 1 + LOC 1/2 + ORG 0 + MISC 0)/4 = 3/8.)
    s = seqeval_f1(pred, gold)
    assert s == {"precision": 0.5, "recall": approx(0.4), "f1": approx(4 / 9),
                 "score": approx(4 / 9)}


def test_seqeval_no_predicted_entities():
    s = seqeval_f1([["O", "O"]], [["B-PER", "O"]])  # P = 0/0 -> 0, R = 0/1
    assert s == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "score": 0.0}
    assert seqeval_f1([["O"]], [["O"]])["f1"] == 0.0  # nothing to find: 0, as seqeval


def test_seqeval_rejects_bad_input():
    with pytest.raises(ValueError):
        seqeval_f1([["S-PER"]], [["B-PER"]])  # IOBES is not supported
    with pytest.raises(ValueError):
        seqeval_f1([["O", "O"]], [["O"]])  # sentence lengths differ


# --- MultiRC --------------------------------------------------------------------------------

def test_multirc_em_is_per_question():
    A, B, C = ("p1", "q1"), ("p1", "q2"), ("p2", "q1")
    ids = [A, A, B, A, B, C, C]  # options of a question need not be adjacent
    gold = [1, 0, 1, 1, 0, 0, 1]
    pred = [1, 0, 1, 0, 0, 0, 1]  # one wrong option, in question A
    # f1a over the 7 options: TP=3, FP=0, FN=1 -> 6/7.
    # EM: A has a wrong option -> 0; B, C -> 1: 2/3 (not the option accuracy 6/7; not 1/2 as
    # when grouping on "q1" alone; not 4/5 as when grouping adjacent runs).
    s = multirc_scores(ids, gold, pred)
    assert s == {"f1a": approx(6 / 7), "em": approx(2 / 3), "score": approx((6 / 7 + 2 / 3) / 2)}


def test_multirc_no_true_positive():
    # all predicted 0: f1a = 0; question 1 (both 0) right, question 2 wrong -> em 1/2
    assert multirc_scores([1, 1, 2], [0, 0, 1], [0, 0, 0]) == {"f1a": 0.0, "em": 0.5,
                                                               "score": 0.25}
    with pytest.raises(ValueError):
        multirc_scores([1], [2], [1])


# --- ReCoRD ---------------------------------------------------------------------------------

def test_record_max_over_gold_entities():
    # q1: vs "Obama": P=1/2 R=1 -> F1 2/3, EM 0; vs "Barack Obama": EM 1, F1 1 -> max 1, 1.
    # q2: "white house" vs "white house press office": P=1 R=1/2 -> F1 2/3, EM 0.
    # f1 = (1 + 2/3)/2 = 5/6, EM = 1/2, score = (5/6 + 1/2)/2 = 2/3.
    s = record_scores(["q1", "q2"], ["Barack Obama", "the White House"],
                      [["Obama", "Barack Obama"], ["White House press office"]])
    assert s == {"f1": approx(5 / 6), "exact_match": 0.5, "score": approx(2 / 3)}


def test_record_rejects_repeated_query_ids():
    with pytest.raises(ValueError, match="repeat"):
        record_scores(["q1", "q1"], ["a", "b"], [["a"], ["b"]])

"""Interaction weights: each signal's exact weight, the validation split, the grid's choice."""

from __future__ import annotations

import numpy as np

from recommendations import weights
from recommendations.weights import Signals, Weights


def signals(rows: list[tuple[int, int, int, int, int, bool, float]], shape) -> Signals:
    """rows: (user, item, plays, completions, thumb, in_my_list, at)."""
    a = np.array(rows, dtype=np.float64)
    return Signals(
        users=a[:, 0].astype(np.int64),
        items=a[:, 1].astype(np.int64),
        plays=a[:, 2].astype(np.int64),
        completions=a[:, 3].astype(np.int64),
        thumb=a[:, 4].astype(np.int64),
        in_my_list=a[:, 5] > 0,
        at=a[:, 6],
        shape=shape,
    )


def test_each_signal_adds_its_weight_and_the_old_rule_filters_thumbs_down():
    w = Weights(complete=3.0, partial=1.0, thumb_up=2.0, thumb_down=-1.0, my_list=0.5)
    assert weights.weight_of(plays=1, completions=1, thumb=0, in_my_list=False, weights=w) == 3.0
    assert weights.weight_of(plays=2, completions=0, thumb=0, in_my_list=False, weights=w) == 1.0
    assert weights.weight_of(plays=1, completions=1, thumb=1, in_my_list=True, weights=w) == 5.5
    assert weights.weight_of(plays=1, completions=1, thumb=-1, in_my_list=False, weights=w) == 2.0
    # floored at 0: a thumbs down alone is not a positive
    assert weights.weight_of(plays=0, completions=0, thumb=-1, in_my_list=False, weights=w) == 0.0
    old = weights.PREVIOUS
    assert weights.weight_of(plays=1, completions=1, thumb=-1, in_my_list=True, weights=old) == 0.0
    # the validated default: a thumbs down on a watched title leaves the view's weight
    assert weights.DEFAULT.thumb_down == 0.0
    assert weights.weight_of(plays=1, completions=1, thumb=-1, in_my_list=False) == 3.0


def test_weights_array_agrees_with_weight_of_row_by_row():
    s = signals(
        [
            (0, 0, 1, 1, 0, False, 1.0),
            (0, 1, 1, 0, -1, True, 2.0),
            (1, 0, 0, 0, 1, False, 3.0),
            (1, 2, 0, 0, 0, True, 4.0),
            (1, 1, 3, 2, -1, False, 5.0),
        ],
        (2, 3),
    )
    for w in (weights.PREVIOUS, weights.DEFAULT, Weights(thumb_down=1.0, my_list=0.0)):
        expected = [
            weights.weight_of(
                plays=int(p), completions=int(c), thumb=int(t), in_my_list=bool(m), weights=w
            )
            for p, c, t, m in zip(s.plays, s.completions, s.thumb, s.in_my_list, strict=True)
        ]
        assert weights.weights_array(s, w).tolist() == expected


def test_validation_split_holds_out_the_newest_watched_and_trains_only_on_what_came_before():
    s = signals(
        [
            (0, 0, 1, 1, 0, False, 1.0),
            (0, 1, 1, 1, -1, False, 2.0),
            (0, 2, 0, 0, 0, True, 3.0),  # My List only, before the held-out view: trains
            (0, 3, 1, 1, 0, False, 4.0),  # newest watched: held out
            (0, 4, 0, 0, 0, True, 5.0),  # added after the held-out view: neither
            (1, 0, 1, 1, 0, False, 1.0),  # one watched title: kept for training only
        ],
        (2, 5),
    )
    split = weights.validation_split(s, holdout=1)
    assert split.train.tolist() == [True, True, True, False, False, True]
    assert split.target.toarray().tolist() == [[0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]
    assert split.watched_train.toarray().tolist() == [[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]]


def test_validation_counts_thumbs_down_views_when_they_predict_what_is_watched_next():
    """Viewers who disliked title 0 went on to watch 4 (carriers: 0 then 4 in training);
    viewers who watched 0 (disliked) and 1 are then held out on 4. Only when the disliked view
    counts (thumb_down a number) can EASE link 0 to 4; the old filter throws that away (and
    ties put titles 2 and 3 first)."""
    rows = []
    user = 0
    for _ in range(10):  # carriers: 0 (down), 4 (up) train; 5 is their held-out title
        rows += [(user, 0, 1, 1, -1, False, 1.0), (user, 4, 1, 1, 1, False, 2.0)]
        rows += [(user, 5, 1, 1, 0, False, 3.0)]
        user += 1
    for _ in range(10):  # teachers: 0 (down), 1 (up) train; 4 is held out
        rows += [(user, 0, 1, 1, -1, False, 1.0), (user, 1, 1, 1, 1, False, 2.0)]
        rows += [(user, 4, 1, 1, 0, False, 3.0)]
        user += 1
    s = signals(rows, (user, 6))
    result = weights.validate(
        s, start=weights.PREVIOUS, holdout=1, algorithm="ease", params={"lambda_": 1.0}
    )
    by_down = {t["weights"]["thumb_down"]: t["ndcg@10"] for t in result.trials}
    assert set(by_down) == {None, 0.0, -1.0, 1.0}
    assert by_down[None] < by_down[0.0]
    assert result.best.thumb_down is not None
    assert result.not_judged == ["partial", "my_list"]
    # every trial changes one signal from the best so far: complete, thumb_up, thumb_down
    assert len(result.trials) == 1 + 1 + 1 + 3

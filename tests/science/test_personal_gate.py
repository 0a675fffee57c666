"""A personal adapter is served only when the user's own held-out votes back it (noisy voters get none)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.feedback.pipeline import fit_adapters
from engine.feedback.retrain import RetrainConfig, TrainingSet, UserVerdict, cross_validate_user, pca_init
from engine.index import brute_force_knn

TASTE_USER, NOISY_USER = 1, 2


def catalog(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Base features ranked by category, then a nuisance factor; colour (the taste) is the weakest."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((14, 24)).astype(np.float32)
    category, nuisance, colour = rng.integers(4, size=300), rng.integers(6, size=300), rng.integers(4, size=300)
    features = 2.0 * directions[category] + 1.0 * directions[4 + nuisance] + 0.4 * directions[10 + colour]
    return features.astype(np.float32), colour


def votes(features: np.ndarray, colour: np.ndarray, user: int, noisy: bool, seed: int) -> TrainingSet:
    """The user searches 100 items and votes on the base top 5: by colour, or at random."""
    rng = np.random.default_rng(seed)
    queries = rng.choice(len(features), 100, replace=False)
    found, _ = brute_force_knn(features[queries], features, "l2", 6)
    q, x, y, group = [], [], [], []
    for query, rows in zip(queries, found):
        for row in rows[rows != query][:5]:
            same = colour[row] == colour[query]
            q.append(features[query])
            x.append(features[row])
            y.append(float(rng.choice([-1, 1])) if noisy else (1.0 if same else -1.0))
            group.append(int(query) + 1000 * user)
    n = len(y)
    return TrainingSet(torch.from_numpy(np.stack(q)), torch.from_numpy(np.stack(x)), torch.tensor(y),
                       np.full(n, user), np.asarray(group), np.full(n, -1))


def both_users() -> tuple[TrainingSet, TrainingSet, tuple[np.ndarray, np.ndarray]]:
    torch.set_num_threads(1)
    features, colour = catalog()
    return (votes(features, colour, TASTE_USER, False, 1), votes(features, colour, NOISY_USER, True, 2),
            pca_init(features, 16))


CONFIG = RetrainConfig(dim=16, user_steps=200, user_lr=3e-3, min_user_votes=50)


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_random_votes_get_no_adapter(seed: int) -> None:
    features, colour = catalog()
    noisy = votes(features, colour, NOISY_USER, True, seed)
    assert not cross_validate_user(noisy, pca_init(features, 16), CONFIG).serve(CONFIG.user_alpha)


def test_fit_adapters_records_a_verdict_for_everyone_it_considers() -> None:
    taste, noisy, init = both_users()
    everyone = TrainingSet(torch.cat([taste.q, noisy.q]), torch.cat([taste.x, noisy.x]), torch.cat([taste.y, noisy.y]),
                           np.concatenate([taste.user, noisy.user]), np.concatenate([taste.group, noisy.group]),
                           np.concatenate([taste.query_item, noisy.query_item]))
    adapters, verdicts = fit_adapters(everyone, init, CONFIG)
    assert set(verdicts) == {TASTE_USER, NOISY_USER}
    assert set(adapters) == {user for user, verdict in verdicts.items() if verdict["served"]}
    assert NOISY_USER not in adapters
    assert verdicts[NOISY_USER]["votes"] == 500 and verdicts[NOISY_USER]["queries"] > 0


def test_a_verdict_is_one_sided() -> None:
    """Serving needs more wins than losses: many losses are never "significant" enough to serve."""
    assert UserVerdict(30, 10, 50).serve(0.05) and not UserVerdict(10, 30, 50).serve(0.05)
    assert UserVerdict(10, 30, 50).p_value == 1.0 and 0 < UserVerdict(30, 10, 50).p_value < 0.05


def colourless_catalog(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Base features that hold no colour at all (category, a nuisance factor, noise)."""
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((10, 24)).astype(np.float32)
    category, nuisance, colour = rng.integers(4, size=300), rng.integers(6, size=300), rng.integers(4, size=300)
    features = 2.0 * directions[category] + 1.0 * directions[4 + nuisance] + 0.3 * rng.standard_normal((300, 24))
    return features.astype(np.float32), colour


def colours_of(colour: np.ndarray, seed: int = 0) -> np.ndarray:
    """Colour descriptors: each colour's own direction plus noise, unit rows (as engine.appearance's are)."""
    rng = np.random.default_rng(seed)
    prototypes = np.abs(rng.standard_normal((4, 52)))
    rows = prototypes[colour] + 0.6 * np.abs(rng.standard_normal((len(colour), 52)))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


def with_colours(data: TrainingSet, features: np.ndarray, descriptors: np.ndarray) -> TrainingSet:
    """The same votes, carrying the query's and the match's colour descriptors."""
    row_of = {v.tobytes(): r for r, v in enumerate(features)}
    q_rows = [row_of[v.numpy().tobytes()] for v in data.q]
    x_rows = [row_of[v.numpy().tobytes()] for v in data.x]
    return TrainingSet(data.q, data.x, data.y, data.user, data.group, data.query_item,
                       descriptors[q_rows], descriptors[x_rows])


def test_a_colour_voter_gets_colour_weighed_in_and_it_helps_on_new_queries() -> None:
    from engine.feedback.retrain import train_user_adapter

    torch.set_num_threads(1)
    features, colour = colourless_catalog()
    descriptors = colours_of(colour)
    few = votes(features, colour, TASTE_USER, False, 1).only(np.arange(500) < 100)  # 20 searches, 100 votes
    mine = with_colours(few, features, descriptors)
    init = pca_init(features, 16)
    verdict = cross_validate_user(mine, init, CONFIG)
    assert verdict.serve(CONFIG.user_alpha), verdict
    adapter = train_user_adapter(mine, init, CONFIG)
    assert adapter.appearance_weight > 0
    assert train_user_adapter(few, init, CONFIG).appearance_weight == 0  # votes without colour: none

    searched = set(mine.group.tolist())
    fresh = [r for r in range(len(features)) if r + 1000 * TASTE_USER not in searched][:100]
    base, served = [], []
    space = adapter.space(features, descriptors)
    for row in fresh:
        candidates = brute_force_knn(features[row : row + 1], features, "l2", 61)[0][0]
        candidates = candidates[candidates != row][:60]
        base.append(np.mean(colour[candidates[:5]] == colour[row]))
        order = np.argsort(((space[candidates] - space[row]) ** 2).sum(1))[:5]
        served.append(np.mean(colour[candidates[order]] == colour[row]))
    assert np.mean(served) > np.mean(base) + 0.2


def test_a_category_voter_gets_no_colour() -> None:
    """Votes that follow the base ranking choose α = 0: colour would only disorder them."""
    from engine.feedback.retrain import appearance_weight

    torch.set_num_threads(1)
    features, colour = catalog()
    data = votes(features, colour, TASTE_USER, False, 1)
    by_base = TrainingSet(data.q, data.x, torch.from_numpy(np.where(
        ((data.q - data.x) ** 2).sum(1).numpy() < np.median(((data.q - data.x) ** 2).sum(1).numpy()), 1.0, -1.0
    ).astype(np.float32)), data.user, data.group, data.query_item)
    mine = with_colours(by_base, features, colours_of(colour))
    assert appearance_weight(mine, pca_init(features, 16), CONFIG) == 0

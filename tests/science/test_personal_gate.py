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

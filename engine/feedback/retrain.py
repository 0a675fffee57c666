"""Learn a better embedding from votes: a linear projection of the base embedder's features.

Global model: z = normalise(W·f + b), W initialised to the top principal components of the
catalog's features (so before training it ranks almost like the base embedder), then trained on
the training votes with
  * a logistic loss on each voted pair (👍 close, 👎 far),
  * a ranking loss within each query (every 👍 match closer than every 👎 match),
  * the catalog's categories, where they exist, through a linear classifier on z, so category
    neighbourhoods survive whatever the votes ask for.
Per-user adapters: for every user with at least `min_user_votes` training votes, their own
Wᵤ, bᵤ, from the same PCA start, trained on that user's votes only (no category loss: a user who
judges by pattern should get pattern neighbours), then the weight αᵤ of colour distance
(engine.appearance) that best orders their (👍, 👎) pairs, from `appearance_weights` (0 = none):
one number, so tens of votes suffice where the base features hold too little colour for Wᵤ to
find. An adapter is kept only when it orders the user's own votes better than the base features
do on queries it was not fitted on (`cross_validate_user`, folds by query; a sign test over the
held-out queries whose (👍, 👎) pairs the adapter orders better or worse than the base): with
tens of votes a 256×d projection can fit noise, and an adapter that fits noise would serve that
user worse results than having none. Applied at search time by engine.feedback.personal
(re-ranking the base index's candidates).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.feedback.interleaving import sign_test_p
from engine.feedback.measures import query_wins, squared_distances
from engine.feedback.personal import Adapter, AppearanceLookup
from engine.index.metrics import Metric
from votes.reader import VotePairs

logger = logging.getLogger(__name__)


class NotEnoughVotes(ValueError):
    """Too few votes to learn anything; the message says how many there are and how many are needed."""


@dataclass
class RetrainConfig:
    """One retraining run, top to bottom: what to make, from which votes, how to train, what to build."""

    name: str = "votes-proj"  # the new embedder is ft:<name>
    base: str | None = None  # the built-in (or ft: projection of one) whose votes to learn from; None: most voted
    input_size: int | None = None  # the base embedder's input size (None: its default)
    device: str | None = None
    allow_random: bool = False  # tests and CI: a base embedder without its pretrained weights
    min_votes: int = 50  # refuse to retrain below this many usable votes
    holdout: float = 0.2  # share of queries held out for the before/after figures
    metrics: tuple[Metric, ...] = ("l2", "cosine")  # indexes to build for ft:<name>
    k: int = 5  # precision@k in the figures
    tastes: dict[int, str] = field(default_factory=dict)  # simulated users' tastes, for their figures
    progress: bool = True
    dim: int = 256
    steps: int = 300
    batch: int = 256
    lr: float = 3e-4
    scale: float = 5.0  # logit scale on squared distances between unit vectors (range 0..4)
    category_weight: float = 1.0
    anchor_weight: float = 1.0  # keeps W near its PCA start: votes cover few items
    min_user_votes: int = 50
    user_steps: int = 300
    user_lr: float = 3e-4
    user_anchor_weight: float = 0.1  # a user's projection may move further from the PCA start than the global one
    user_folds: int = 4  # cross-validation folds (by query) that decide whether an adapter is served
    user_alpha: float = 0.05  # an adapter is served when it beats the base on held-out votes at this level
    # the weights of colour distance an adapter may choose (distances: projection 0..4, colour 0..2)
    appearance_weights: tuple[float, ...] = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
    seed: int = 0


@dataclass
class TrainingSet:
    """Votes as tensors over catalog rows: q (query features), x (match features), y (±1).

    `qa`, `xa`: the query's and the match's colour descriptors (None: not known, colour unused).
    """

    q: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    user: np.ndarray
    group: np.ndarray
    query_item: np.ndarray
    qa: np.ndarray | None = None
    xa: np.ndarray | None = None
    ranking: torch.Tensor = field(default_factory=lambda: torch.zeros((0, 2), dtype=torch.int64))

    def __post_init__(self) -> None:
        self.ranking = ranking_pairs(self.group, self.y.numpy())

    def __len__(self) -> int:
        return len(self.y)

    def only(self, mask: np.ndarray) -> TrainingSet:
        rows = torch.from_numpy(np.flatnonzero(mask))
        return TrainingSet(self.q[rows], self.x[rows], self.y[rows], self.user[mask], self.group[mask],
                           self.query_item[mask], None if self.qa is None else self.qa[mask],
                           None if self.xa is None else self.xa[mask])


def ranking_pairs(group: np.ndarray, value: np.ndarray) -> torch.Tensor:
    """(pos_row, neg_row) for every 👍/👎 pair inside the same query."""
    pairs: list[tuple[int, int]] = []
    order = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.diff(group[order])) + 1
    for rows in np.split(order, bounds):
        pos, neg = rows[value[rows] > 0], rows[value[rows] < 0]
        pairs += [(int(p), int(n)) for p in pos for n in neg]
    return torch.tensor(pairs, dtype=torch.int64).reshape(-1, 2)


def held_out_mask(pairs: VotePairs, fraction: float, seed: int) -> np.ndarray:
    """True for votes whose query (group) is held out: whole queries, never half of one."""
    groups = np.unique(pairs.group)
    rng = np.random.default_rng(seed)
    chosen = groups[rng.random(len(groups)) < fraction]
    return np.isin(pairs.group, chosen)


def build_training_set(pairs: VotePairs, ids: np.ndarray, features: np.ndarray,
                       appearance_of: AppearanceLookup | None = None) -> TrainingSet:
    """Resolve item ids to catalog features; votes on items no longer in the catalog are dropped.

    With `appearance_of` (item ids → colour descriptors), the set carries colour too: the query's
    own descriptor as recorded, else its catalog item's (simulated users, game pairs).
    """
    row_of = {int(i): r for r, i in enumerate(ids.tolist())}
    keep, queries = [], []
    for n in range(len(pairs)):
        vector = pairs.query_vectors[n]
        if vector is None or vector.shape[0] != features.shape[1]:
            q_row = row_of.get(int(pairs.query_item[n]))
            vector = None if q_row is None else features[q_row]
        if vector is not None and int(pairs.item[n]) in row_of:
            keep.append(n)
            queries.append(vector)
    keep_arr = np.asarray(keep, dtype=np.int64)
    if len(keep) < len(pairs):
        logger.warning("dropped %d votes whose items or vectors are gone", len(pairs) - len(keep))
    x_rows = [row_of[int(i)] for i in pairs.item[keep_arr]]
    q = torch.from_numpy(np.stack(queries).astype(np.float32)) if queries else torch.zeros((0, features.shape[1]))
    qa = xa = None
    if appearance_of is not None and len(keep):
        xa = appearance_of(pairs.item[keep_arr].tolist())
        recorded = [pairs.query_appearances[n] for n in keep]
        from_catalog = [int(pairs.query_item[n]) for n, a in zip(keep, recorded) if a is None or a.shape != xa.shape[1:]]
        catalog_rows = dict(zip(from_catalog, appearance_of(from_catalog))) if from_catalog else {}
        qa = np.stack([a if a is not None and a.shape == xa.shape[1:] else catalog_rows[int(pairs.query_item[n])]
                       for n, a in zip(keep, recorded)]).astype(np.float32)
    return TrainingSet(q, torch.from_numpy(features[x_rows]), torch.from_numpy(pairs.value[keep_arr]),
                       pairs.user[keep_arr], pairs.group[keep_arr], pairs.query_item[keep_arr], qa, xa)


def pca_init(features: np.ndarray, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """W = top principal directions / overall scale, b = −W·mean: a near-isometric start."""
    mean = features.mean(0)
    centred = features - mean
    _, singular, vt = np.linalg.svd(centred[:: max(1, len(centred) // 4000)], full_matrices=False)
    dim = min(dim, vt.shape[0])
    scale = np.sqrt((singular[:dim] ** 2).sum() / max(1, len(centred))) + 1e-12
    weight = (vt[:dim] / scale).astype(np.float32)
    return weight, (-weight @ mean).astype(np.float32)


def pair_losses(zq: torch.Tensor, zx: torch.Tensor, y: torch.Tensor, bias: torch.Tensor,
                ranking: torch.Tensor, scale: float) -> torch.Tensor:
    """Logistic loss per voted pair + ranking loss per (👍, 👎) pair of one query."""
    d = ((zq - zx) ** 2).sum(-1)
    loss = nn.functional.softplus(-y * scale * (bias - d)).mean()
    if len(ranking):
        loss = loss + nn.functional.softplus(scale * (d[ranking[:, 0]] - d[ranking[:, 1]])).mean()
    return loss


def _sample(rng: np.random.Generator, n: int, size: int) -> torch.Tensor:
    return torch.from_numpy(rng.integers(n, size=min(size, n)))


def train_projection(
    data: TrainingSet, features: np.ndarray, labels: np.ndarray | None, config: RetrainConfig,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The global projection (W, b); `labels` are catalog category indices (−1: none)."""
    return _fit(data, features, labels, config, init or pca_init(features, config.dim))


def _fit(
    data: TrainingSet, features: np.ndarray | None, labels: np.ndarray | None, config: RetrainConfig,
    init: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    w0, b0 = init
    linear = nn.Linear(w0.shape[1], w0.shape[0])
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(w0))
        linear.bias.copy_(torch.from_numpy(b0))
    anchor, bias = torch.from_numpy(w0), nn.Parameter(torch.tensor(1.0))
    labels = labels if labels is not None and features is not None else np.full(1, -1)
    cat_rows = np.flatnonzero(labels >= 0)
    classifier = nn.Linear(w0.shape[0], max(1, int(labels.max()) + 1))
    optimizer = torch.optim.Adam([*linear.parameters(), bias, *classifier.parameters()], lr=config.lr)
    catalog = torch.from_numpy(features.astype(np.float32)) if features is not None else torch.zeros(0)

    def embed(f: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(linear(f), dim=-1)

    loss = torch.tensor(float("nan"))
    for _ in range(config.steps):
        rows = _sample(rng, len(data), config.batch)
        if len(data.ranking):  # the ranking pairs' own rows join the batch
            rank = data.ranking[_sample(rng, len(data.ranking), config.batch)]
            rows = torch.cat([rows, rank.reshape(-1)])
            ranking = torch.arange(len(rows) - 2 * len(rank), len(rows)).reshape(-1, 2)
        else:
            ranking = data.ranking
        loss = pair_losses(embed(data.q[rows]), embed(data.x[rows]), data.y[rows], bias, ranking, config.scale)
        if len(cat_rows):
            picks = cat_rows[rng.integers(len(cat_rows), size=min(config.batch, len(cat_rows)))]
            logits = 10 * classifier(embed(catalog[picks]))
            loss = loss + config.category_weight * nn.functional.cross_entropy(logits, torch.from_numpy(labels[picks]))
        loss = loss + config.anchor_weight * ((linear.weight - anchor) ** 2).sum() / len(anchor)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    logger.info("projection trained: last loss %.4f", float(loss.detach()))
    return linear.weight.detach().numpy().copy(), linear.bias.detach().numpy().copy()


APPEARANCE_SCALES = tuple(2.0 ** np.arange(-3, 6))  # logistic scales tried per α, on margins in std units


def train_user_adapter(data: TrainingSet, init: tuple[np.ndarray, np.ndarray], config: RetrainConfig) -> Adapter:
    """One user's adapter: their projection, and the weight of colour that best explains their votes."""
    weight, bias = train_user_projection(data, init, config)
    return Adapter(weight, bias, appearance_weight(data, init, config))


def appearance_weight(data: TrainingSet, init: tuple[np.ndarray, np.ndarray], config: RetrainConfig) -> float:
    """The α of `config.appearance_weights` whose distances d = d_start + α·d_colour best explain the
    user's (👍, 👎) pairs: the lowest logistic loss of softplus(s·(d👍 − d👎)) at its best scale s.

    d_start is the distance under the PCA start `init`, not under the user's trained projection:
    that one was fitted to these very votes and would explain them alone, leaving no room for
    colour (measured: α = 0 or 0.25 chosen for pure colour voters). With a free scale, α trades
    the two distances off instead of trading correct pairs against wrong ones. 0 when the votes
    carry no colour or have no pair to order; ties go to the smaller α.
    """
    if data.qa is None or data.xa is None or not len(data.ranking):
        return 0.0
    start = Adapter(*init)
    projected = squared_distances(start.space(data.q.numpy()), start.space(data.x.numpy()))
    colour = squared_distances(data.qa, data.xa)
    pos, neg = data.ranking[:, 0].numpy(), data.ranking[:, 1].numpy()
    best, best_loss = 0.0, float("inf")
    for alpha in sorted(config.appearance_weights):
        distance = projected + alpha * colour
        margin = distance[pos] - distance[neg]
        scale = margin.std() or 1.0
        loss = min(float(np.logaddexp(0.0, s * margin / scale).mean()) for s in APPEARANCE_SCALES)
        if loss < best_loss - 1e-9:
            best, best_loss = float(alpha), loss
    return best


def train_user_projection(
    data: TrainingSet, init: tuple[np.ndarray, np.ndarray], config: RetrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One user's own projection of the base features, from the PCA start, on their votes only."""
    user_config = RetrainConfig(**{**vars(config), "lr": config.user_lr, "steps": config.user_steps,
                                   "anchor_weight": config.user_anchor_weight})
    # z = normalise(W·f + b) is the same for any positive multiple of (W, b): fit it in units of
    # W₀'s own entry size. Adam's steps are about `lr` per entry whatever the gradient, so in raw
    # units (entries ~1e-4 for 1280-d features) 300 steps on ~55 votes rewrote W₀ entirely,
    # whatever the anchor: the adapter fitted noise.
    unit = float(np.sqrt((init[0] ** 2).mean())) or 1.0
    weight, bias = _fit(data, None, None, user_config, (init[0] / unit, init[1] / unit))
    return weight * unit, bias * unit


@dataclass(frozen=True)
class UserVerdict:
    """One user's held-out queries whose votes their projection orders better (wins) or worse than the base."""

    wins: int
    losses: int
    queries: int  # held-out queries with at least one (👍, 👎) pair

    @property
    def p_value(self) -> float:
        """One-sided: the chance of at least this many wins if the adapter were no better."""
        if self.wins <= self.losses:
            return 1.0
        return sign_test_p(self.wins, self.losses) / 2

    def serve(self, alpha: float) -> bool:
        """Serve the adapter only when it beats the base features significantly (one-sided sign test)."""
        return self.p_value < alpha


def cross_validate_user(
    data: TrainingSet, init: tuple[np.ndarray, np.ndarray], config: RetrainConfig
) -> UserVerdict:
    """Fit on all but one fold of this user's queries, compare on the held-out fold; pooled over folds.

    Compared are the (👍, 👎) pairs inside each held-out query, so single game votes only train.
    """
    groups = np.unique(data.group)
    folds = max(2, config.user_folds)
    fold_of = dict(zip(groups.tolist(), (np.random.default_rng(config.seed).permutation(len(groups)) % folds).tolist()))
    fold = np.asarray([fold_of[g] for g in data.group.tolist()])
    wins = losses = queries = 0
    for held in range(folds):
        test = data.only(fold == held)
        if not len(test.ranking) or len(test) == len(data):
            continue
        adapter = train_user_adapter(data.only(fold != held), init, config)
        before = squared_distances(test.q.numpy(), test.x.numpy())
        after = squared_distances(adapter.space(test.q.numpy(), test.qa), adapter.space(test.x.numpy(), test.xa))
        won, lost = query_wins(before, after, test.ranking.numpy(), test.group)
        wins, losses = wins + won, losses + lost
        queries += len(np.unique(test.group[test.ranking.numpy()[:, 0]]))
    return UserVerdict(wins, losses, queries)

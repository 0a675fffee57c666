"""The joins that turn raw vote rows into meaningful ones, written once for every reader.

`VoteStore` (the bot's async writer, its reports) and `VoteReader` (retraining, scripts,
read-only) both select from these, so a vote means the same thing to the bot and to retraining.
Each is a complete SELECT to be wrapped as a subquery: `SELECT ... FROM ({SEARCH_VOTES})`.
"""
from __future__ import annotations

# One row per vote on a shown match: who, what, and the query and match it was about. `variant`
# is the one credited with the match: in an interleaved album, the model that contributed it.
SEARCH_VOTES = (
    "SELECT v.vote_id AS vote_id, v.user_id AS user_id, v.value AS value,"
    " v.created_at AS created_at, v.updated_at AS updated_at,"
    " s.shown_id AS shown_id, s.rank AS rank, s.item_id AS item_id, s.distance AS distance,"
    " q.query_id AS query_id, COALESCE(s.variant, q.variant) AS variant, q.embedder AS embedder,"
    " q.variant AS query_variant, q.model_version AS model_version,"
    " q.query_item_id AS query_item_id, q.query_vector AS query_vector,"
    " q.query_appearance AS query_appearance"
    " FROM votes v JOIN shown s ON s.shown_id = v.shown_id JOIN queries q ON q.query_id = s.query_id"
)

# One row per vote on a /play pair.
GAME_VOTES = (
    "SELECT v.vote_id AS vote_id, v.user_id AS user_id, v.value AS value,"
    " v.created_at AS created_at, v.updated_at AS updated_at,"
    " g.pair_id AS pair_id, g.variant AS variant, g.item_a AS item_a, g.item_b AS item_b,"
    " g.distance AS distance"
    " FROM votes v JOIN game_pairs g ON g.pair_id = v.pair_id"
)

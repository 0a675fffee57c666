"""Votes: the schema (numbered migrations), the one async writer and a read-only reader.

Stands alone (imports neither `bot` nor `engine`): the bot writes through `VoteStore`,
retraining and scripts read through `VoteReader`; both select from the joins in `votes.sql`.
"""
from votes.registry import BadTransition, InterleavedQuery, ModelEvent, ModelRecord, ModelRegistry
from votes.reader import SchemaTooOld, VotePairs, VoteReader, VotesNotFound, read_votes
from votes.store import (
    GamePair, NotYourVote, ShownVote, UnknownTarget, UserStats, VoteCounts, VoteOutcome, VoteRecord,
    VoteStore, VoteStoreError,
)

__all__ = [
    "BadTransition", "InterleavedQuery", "ModelEvent", "ModelRecord", "ModelRegistry", "GamePair", "NotYourVote", "SchemaTooOld", "ShownVote", "UnknownTarget", "UserStats", "VoteCounts",
    "VoteOutcome", "VotePairs", "VoteReader", "VoteRecord", "VoteStore", "VoteStoreError", "VotesNotFound",
    "read_votes",
]

"""Votes storage: the schema (numbered migrations) and the VoteStore that owns the database."""
from bot.votes.store import (
    GamePair, NotYourVote, ShownVote, UnknownTarget, UserStats, VoteCounts, VoteOutcome, VoteRecord,
    VoteStore, VoteStoreError,
)

__all__ = [
    "GamePair", "NotYourVote", "ShownVote", "UnknownTarget", "UserStats", "VoteCounts", "VoteOutcome",
    "VoteRecord", "VoteStore", "VoteStoreError",
]

"""The votes database schema, as numbered migrations (applied by VoteStore in one transaction each).

This is the contract between the bot (writer, votes.store) and retraining (reader, votes.reader); README's
"Votes schema" section documents it. Never edit a released migration: append a new one.

Tables
- users(user_id, first_seen, variant): Telegram user id; `variant` is their chosen variant.
- queries: one photo search. `query_vector` is the embedder's float32 feature of the photo
  (raw bytes, `embedder` says whose), so retraining needs no stored photos; `query_item_id` is set
  when the query was a catalog item (simulated users, the game).
- shown: the matches a query displayed, by rank, with their distance.
- game_pairs: a /play round: item_a shown with item_b, the neighbour `variant` chose.
- votes: +1 (👍 dope) / −1 (👎 nope) by a user on exactly one shown match or one game pair;
  UNIQUE per (user, target) so a replayed button press cannot count twice (a change of mind
  updates the row).
- (2) queries.model_version: the exact weights that ranked the matches (checkpoint sha256 or the
  pretrained weights' name), so a vote is credited to what the user really saw across hot swaps.
- (2) shown.variant: in an interleaved album, the variant that contributed this match (NULL: the
  query's variant); interleavings(query_id, champion, challenger) marks such albums.
- (2) models: the model registry, one row per embedder name with its stage
  (candidate → challenger → champion → retired); model_events: every transition, when and why.
- (3) inbox: every Telegram update the bot accepted, stored before Telegram is told it
  arrived; `status` pending → done (or failed after repeated crashes), so a restart replays what
  was in flight exactly once. `queries.update_id` names the update a search answered, so a
  replayed photo reuses its recorded search instead of recording a second one.
- (4) queries.query_appearance: the searched product's colour descriptor (engine.appearance,
  float32 bytes), so personal adapters can learn how much colour matters to a user.
"""
from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: initial schema
    """
    CREATE TABLE users (
        user_id INTEGER PRIMARY KEY,
        first_seen TEXT NOT NULL,
        variant TEXT
    );
    CREATE TABLE queries (
        query_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        variant TEXT NOT NULL,
        embedder TEXT NOT NULL,
        photo_sha256 TEXT,
        file_id TEXT,
        query_item_id INTEGER,
        query_vector BLOB
    );
    CREATE INDEX queries_user ON queries(user_id);
    CREATE TABLE shown (
        shown_id INTEGER PRIMARY KEY AUTOINCREMENT,
        query_id INTEGER NOT NULL REFERENCES queries(query_id) ON DELETE CASCADE,
        rank INTEGER NOT NULL,
        item_id INTEGER NOT NULL,
        distance REAL NOT NULL,
        UNIQUE (query_id, rank)
    );
    CREATE TABLE game_pairs (
        pair_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        created_at TEXT NOT NULL,
        variant TEXT NOT NULL,
        item_a INTEGER NOT NULL,
        item_b INTEGER NOT NULL,
        distance REAL NOT NULL
    );
    CREATE INDEX game_pairs_variant ON game_pairs(variant);
    CREATE TABLE votes (
        vote_id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_id INTEGER NOT NULL REFERENCES users(user_id) ON DELETE CASCADE,
        shown_id INTEGER REFERENCES shown(shown_id) ON DELETE CASCADE,
        pair_id INTEGER REFERENCES game_pairs(pair_id) ON DELETE CASCADE,
        value INTEGER NOT NULL CHECK (value IN (-1, 1)),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        CHECK ((shown_id IS NULL) <> (pair_id IS NULL)),
        UNIQUE (user_id, shown_id),
        UNIQUE (user_id, pair_id)
    );
    """,
    # 2: hot swaps, champion/challenger interleaving, the model registry
    """
    ALTER TABLE queries ADD COLUMN model_version TEXT;
    ALTER TABLE shown ADD COLUMN variant TEXT;
    CREATE TABLE interleavings (
        query_id INTEGER PRIMARY KEY REFERENCES queries(query_id) ON DELETE CASCADE,
        champion TEXT NOT NULL,
        challenger TEXT NOT NULL
    );
    CREATE INDEX interleavings_pair ON interleavings(champion, challenger);
    CREATE TABLE models (
        name TEXT PRIMARY KEY,
        stage TEXT NOT NULL CHECK (stage IN ('candidate', 'challenger', 'champion', 'retired')),
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        held_out_ok INTEGER
    );
    CREATE TABLE model_events (
        event_id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL REFERENCES models(name),
        from_stage TEXT,
        to_stage TEXT NOT NULL,
        at TEXT NOT NULL,
        reason TEXT NOT NULL
    );
    """,
    # 3: durable intake of Telegram updates; searches remember the update they answered
    """
    CREATE TABLE inbox (
        update_id INTEGER PRIMARY KEY,
        received_at TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        finished_at TEXT
    );
    CREATE INDEX inbox_pending ON inbox(status) WHERE status = 'pending';
    ALTER TABLE queries ADD COLUMN update_id INTEGER;
    CREATE UNIQUE INDEX queries_update ON queries(update_id) WHERE update_id IS NOT NULL;
    """,
    # 4: the searched product's colour, for personal adapters
    """
    ALTER TABLE queries ADD COLUMN query_appearance BLOB;
    """,
]

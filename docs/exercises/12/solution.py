"""Exercise 12, solved: migration 0002, and its exact undo."""

MIGRATION_0001 = """\
-- up
CREATE TABLE notes (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL
);
-- down
DROP TABLE notes;
"""

MIGRATION_0002 = """\
-- up
-- NOT NULL DEFAULT 0: the rows already there get 0, new ones too unless set.
ALTER TABLE notes ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
CREATE INDEX notes_pinned_idx ON notes (pinned);
-- down
-- The reverse order: SQLite will not drop a column an index still uses.
DROP INDEX notes_pinned_idx;
ALTER TABLE notes DROP COLUMN pinned;
"""

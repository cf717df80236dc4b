"""Exercise 12: write migration 0002 (up and down). See README.md."""

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
-- TODO: add the pinned column and its index
-- down
-- TODO: undo them
"""

-- up
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    author_id INTEGER NOT NULL
        CONSTRAINT posts_author_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT posts_title_check CHECK (length(title) BETWEEN 1 AND 200)
);
-- "A user's posts, newest first": WHERE author_id = ? ORDER BY id DESC.
-- The index holds exactly that order, so the database reads one page and stops.
-- (It also serves ON DELETE CASCADE: deleting a user finds their posts by it.)
CREATE INDEX posts_author_id_idx ON posts (author_id, id);
-- down
DROP TABLE posts;

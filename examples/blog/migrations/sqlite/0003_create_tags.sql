-- up
CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CONSTRAINT tags_name_key UNIQUE,
    CONSTRAINT tags_name_check CHECK (length(name) BETWEEN 1 AND 30)
);
-- Many posts have many tags: one row per (post, tag) pair. The primary key
-- is its index for "the tags of a post"; the second index, the other way
-- round, for "the posts with a tag".
CREATE TABLE post_tags (
    post_id INTEGER NOT NULL
        CONSTRAINT post_tags_post_id_fkey REFERENCES posts (id) ON DELETE CASCADE,
    tag_id INTEGER NOT NULL
        CONSTRAINT post_tags_tag_id_fkey REFERENCES tags (id) ON DELETE CASCADE,
    CONSTRAINT post_tags_pkey PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag_id_idx ON post_tags (tag_id, post_id);
-- down
DROP TABLE post_tags;
DROP TABLE tags;

-- up
-- `INTEGER PRIMARY KEY`, spelled exactly so, makes the column SQLite's rowid:
-- numbered automatically when an INSERT leaves it out.
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT users_email_check CHECK (email LIKE '_%@_%')
);
-- down
DROP TABLE users;

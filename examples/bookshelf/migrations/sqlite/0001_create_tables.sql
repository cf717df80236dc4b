-- up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL CONSTRAINT users_email_key UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT users_role_check CHECK (role IN ('admin', 'member')),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE authors (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CONSTRAINT authors_name_key UNIQUE
);
CREATE TABLE books (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    author_id INTEGER NOT NULL CONSTRAINT books_author_id_fkey REFERENCES authors (id),
    year INTEGER NOT NULL,
    copies INTEGER NOT NULL,
    available INTEGER NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    cover TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- Whatever code runs, the shelf never holds fewer than 0 copies or more
    -- than it owns: a bug in a loan becomes a refused UPDATE, not a wrong count.
    CONSTRAINT books_available_check CHECK (available BETWEEN 0 AND copies)
);
-- The catalogue's orders (keyset pagination reads them from an index).
CREATE INDEX books_title_idx ON books (title, id);
CREATE INDEX books_year_idx ON books (year, id);
CREATE INDEX books_author_id_idx ON books (author_id, id);
CREATE TABLE loans (
    id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL CONSTRAINT loans_book_id_fkey REFERENCES books (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL CONSTRAINT loans_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    borrowed_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    returned_at TIMESTAMP,
    receipt_sent_at TIMESTAMP
);
CREATE INDEX loans_user_id_idx ON loans (user_id, id);
CREATE INDEX loans_book_id_idx ON loans (book_id);
CREATE TABLE reviews (
    id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL CONSTRAINT reviews_book_id_fkey REFERENCES books (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL CONSTRAINT reviews_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    rating INTEGER NOT NULL CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 5),
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    -- One review per reader and book: a second one is a 409 naming this.
    CONSTRAINT reviews_book_id_user_id_key UNIQUE (book_id, user_id)
);
-- down
DROP TABLE reviews;
DROP TABLE loans;
DROP TABLE books;
DROP TABLE authors;
DROP TABLE users;

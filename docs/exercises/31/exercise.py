"""Exercise 31: an in-memory fake that honours the repository's contract. See README.md."""

from dataclasses import dataclass


@dataclass
class Book:
    id: int
    title: str
    copies: int


class FakeBooks:
    def __init__(self) -> None:
        self.books: dict[int, Book] = {}

    async def add(self, title: str, copies: int) -> Book:
        book = Book(len(self.books) + 1, title, copies)
        self.books[book.id] = book
        return book

    async def get(self, book_id: int) -> Book | None:
        return self.books.get(book_id)  # TODO: the caller's own copy

    async def take_copy(self, book_id: int) -> bool:
        self.books[book_id].copies -= 1  # TODO: the contract
        return True

"""Exercise 31, solved: an in-memory fake that honours the repository's contract."""

from dataclasses import dataclass, replace


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
        return replace(book)

    async def get(self, book_id: int) -> Book | None:
        book = self.books.get(book_id)
        return None if book is None else replace(book)  # a copy, as a row read is

    async def take_copy(self, book_id: int) -> bool:
        book = self.books.get(book_id)
        if book is None or book.copies <= 0:
            return False  # unknown, or none left: nothing changes
        book.copies -= 1
        return True

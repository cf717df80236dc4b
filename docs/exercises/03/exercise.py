"""Exercise 03: a segment tree for routing. See README.md."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    literals: dict[str, Node] = field(default_factory=dict)  # "users" -> the node below it
    param_name: str | None = None  # "id" for a {id} child
    param_child: Node | None = None
    endpoint: str | None = None  # set on the node where a route ends


class SegmentTree:
    def __init__(self) -> None:
        self.root = Node()

    def add(self, path: str, endpoint: str) -> None:
        raise NotImplementedError("TODO: walk (and grow) the tree one segment at a time")

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        raise NotImplementedError("TODO: a depth-first walk that backtracks")

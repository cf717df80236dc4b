"""Exercise 03, solved: a segment tree for routing, with backtracking."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Node:
    literals: dict[str, Node] = field(default_factory=dict)  # "users" -> the node below it
    param_name: str | None = None  # "id" for a {id} child
    param_child: Node | None = None
    endpoint: str | None = None  # set on the node where a route ends


def segments(path: str) -> list[str]:
    if not path.startswith("/"):
        raise ValueError(f"{path!r}: a path starts with /")
    return path[1:].split("/") if path != "/" else []


class SegmentTree:
    def __init__(self) -> None:
        self.root = Node()

    def add(self, path: str, endpoint: str) -> None:
        node = self.root
        for segment in segments(path):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                if node.param_child is None:
                    node.param_name, node.param_child = name, Node()
                elif node.param_name != name:
                    raise ValueError(
                        f"{path}: {{{name}}} where another route has {{{node.param_name}}}; "
                        "use one name for the same position"
                    )
                node = node.param_child
            else:
                node = node.literals.setdefault(segment, Node())
        if node.endpoint is not None:
            raise ValueError(f"{path} is added twice: {node.endpoint} and {endpoint}")
        node.endpoint = endpoint

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        params: dict[str, str] = {}
        endpoint = self._walk(self.root, segments(path), 0, params)
        return None if endpoint is None else (endpoint, params)

    def _walk(self, node: Node, parts: list[str], index: int, params: dict[str, str]) -> str | None:
        if index == len(parts):
            return node.endpoint
        segment = parts[index]
        literal = node.literals.get(segment)
        if literal is not None:
            found = self._walk(literal, parts, index + 1, params)
            if found is not None:
                return found  # a literal wins over a parameter...
        if node.param_child is not None and node.param_name is not None and segment:
            params[node.param_name] = segment
            found = self._walk(node.param_child, parts, index + 1, params)
            if found is not None:
                return found
            del params[node.param_name]  # ...but a dead end backtracks to it
        return None

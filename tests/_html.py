"""A small HTML tree for the explorer tests: parse a page, find elements, read their text."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from html.parser import HTMLParser

#: Elements that never have content (no end tag).
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


class Node:
    """One element: its tag, attributes, children (nodes and text)."""

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node | str] = []

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"

    @property
    def text(self) -> str:
        """All the text inside, as the browser would show it (whitespace kept)."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def walk(self) -> Iterator[Node]:
        """This node and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def find_all(self, tag: str | None = None, **attrs: str | bool) -> list[Node]:
        """Elements with that tag (any when None) and attributes (True: present at all)."""
        names = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}

        def matches(node: Node) -> bool:
            if tag is not None and node.tag != tag:
                return False
            for name, value in names.items():
                if value is True:
                    if name not in node.attrs:
                        return False
                elif node.attrs.get(name) != value:
                    return False
            return True

        return [node for node in self.walk() if matches(node)]

    def find(self, tag: str | None = None, **attrs: str | bool) -> Node:
        """The first such element; AssertionError when there is none."""
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}>"
        return found[0]

    def where(self, test: Callable[[Node], bool]) -> list[Node]:
        """Every element below for which `test` holds."""
        return [node for node in self.walk() if test(node)]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The document's tree."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root

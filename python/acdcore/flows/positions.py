"""Line numbers of TOML keys and tables, which `tomllib` does not report.

A small scanner over the text, run only to name the place of an error: it tracks table headers,
`key = value` lines (dotted and quoted keys) and skips over multi-line strings, arrays and inline
tables, so `(path...) -> line` is known for every key that starts a line. Keys inside an inline
table or a multi-line array resolve to the line of the key that holds them. We chose this over
the Rust `toml` crate's spans because the flow loader is Python (no new binding, no new
dependency), and the document has already parsed with tomllib, so the scanner only ever sees
valid TOML.
"""

from __future__ import annotations

Path = tuple[str | int, ...]


class Positions:
    """Line of each table and key of one TOML document (1-based)."""

    def __init__(self, text: str) -> None:
        self.lines: dict[Path, int] = {}
        self._scan(text)

    def line(self, path: Path) -> int | None:
        """Line of `path`, else of its nearest ancestor that is known."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return None

    def _scan(self, text: str) -> None:
        table: Path = ()
        counts: dict[Path, int] = {}
        depth = 0  # open brackets/braces carried over from earlier lines
        quote: str | None = None  # an open multi-line string's delimiter
        for number, raw in enumerate(text.splitlines(), start=1):
            if quote is not None or depth > 0:
                depth, quote = _skip_value(raw, 0, depth, quote)
                continue
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("[["):
                name = _keys(line[2 : _find(line, "]]", 2)])
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (*name, index)
                self.lines.setdefault(name, number)
                self.lines[table] = number
            elif line.startswith("["):
                table = _keys(line[1 : _find(line, "]", 1)])
                self.lines[table] = number
            else:
                eq = _find(line, "=")
                if eq < 0:
                    continue
                self.lines[(*table, *_keys(line[:eq]))] = number
                depth, quote = _skip_value(line, eq + 1, 0, None)


def _find(line: str, mark: str, start: int = 0) -> int:
    """Index of `mark` outside quoted strings from `start`, else -1 (keys may hold '=' or ']')."""
    quote: str | None = None
    for i in range(start, len(line)):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif line.startswith(mark, i):
            return i
    return -1


def _keys(text: str) -> tuple[str, ...]:
    """Split a (dotted, maybe quoted) key into its parts."""
    parts: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text.strip():
        if quote:
            if ch == quote:
                quote = None
            else:
                current.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return tuple(parts)


def _skip_value(line: str, start: int, depth: int, quote: str | None) -> tuple[int, str | None]:
    """Scan a value's text; returns the bracket depth and open multi-line string left after it."""
    i = start
    n = len(line)
    while i < n:
        if quote is not None:
            if len(quote) == 3:
                end = line.find(quote, i)
                if end < 0:
                    return depth, quote
                i = end + 3
            else:
                while i < n and line[i] != quote:
                    i += 2 if quote == '"' and line[i] == "\\" else 1
                i += 1
            quote = None
            continue
        ch = line[i]
        if ch == "#":
            break
        if ch in "\"'":
            quote = ch * 3 if line.startswith(ch * 3, i) else ch
            i += len(quote)
            continue
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        i += 1
    return depth, None if quote is None or len(quote) == 1 else quote

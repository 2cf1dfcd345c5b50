"""The README's Python example runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_example_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "README has no python example"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    engine = namespace["engine"]
    stats = engine.queue_stats("support")  # type: ignore[attr-defined]
    assert (stats.offered, stats.answered, stats.service_level) == (1, 1, 1.0)

"""Write the JSON Schema of every command's ``--json`` output into ``docs/schemas/``.

    python scripts/write_schemas.py [--out docs/schemas]

The schemas are generated from the result types (``labeler_tui/core/results/``) by
``labeler_tui.cli.schemas``; run this after changing a result's shape. ``tests/test_schemas.py``
fails while the committed files differ from what this writes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from labeler_tui.cli.schemas import write_schemas

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "schemas")
    args = parser.parse_args()
    for path in write_schemas(args.out):
        print(path)


if __name__ == "__main__":
    main()

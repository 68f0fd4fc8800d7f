"""Run one of Tenon's benchmarks: ``python bench/run.py NAME [options]``.

    python bench/run.py formula [--rows 100000] [--database-url URL]
    python bench/run.py upgrade [--rows 50000] [--database-url URL]
    python bench/run.py scope [--rows 100000] [--database-url URL]
    python bench/run.py api [--rows 100000]
    python bench/run.py demo [--database-url URL]
    python bench/run.py pages [--rows 2000]

Each prints its measurements, and as its last line one JSON object with the ratios
against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/run.py")
    parser.add_argument("name", choices=["formula", "upgrade", "scope", "api", "demo", "pages"])
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    if args.name in ("formula", "scope", "api", "demo", "pages"):
        module = importlib.import_module(args.name)
        result = module.run(args.rows or 100_000, args.database_url)
        width = max(len(key) for key in result)
        for key, value in result.items():
            print(f"{key:>{width}}: {value}")
        print(json.dumps(result))
        return 0
    import upgrade

    rest = ["--rows", str(args.rows)] if args.rows else []
    if args.database_url:
        rest += ["--database-url", args.database_url]
    return int(upgrade.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())

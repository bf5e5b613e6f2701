"""`python -m codegen [--check]`: regenerate the models, or verify they match the schema."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen._generate import CodegenError, check, write

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Compile schema/<api-version>/ into src/pytt_events/_generated/.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 when the generated files do not match the schema",
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = check(ROOT)
            if problems:
                print("\n".join(problems), file=sys.stderr)
                print(
                    "\nThe generated models do not match schema/. Run: python -m codegen",
                    file=sys.stderr,
                )
                return 1
            print("generated models match schema/")
            return 0
        changed = write(ROOT)
        for path in changed:
            print(f"wrote {path}")
        print(f"{len(changed)} file(s) changed")
        return 0
    except CodegenError as error:
        print(f"codegen: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

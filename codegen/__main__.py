"""`python -m codegen [--check]`: regenerate the models, or verify they match the schema.
`python -m codegen diff A B`: what changed between two schema versions (or files)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codegen._diff import report
from codegen._generate import CodegenError, check, write

ROOT = Path(__file__).resolve().parent.parent


def diff_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen diff",
        description="Field-level differences between two schemas: API versions or files.",
        epilog="example: python -m codegen diff v1.3 v1.4",
    )
    parser.add_argument("old", help="API version (a folder of schema/) or schema file")
    parser.add_argument("new", help="API version (a folder of schema/) or schema file")
    args = parser.parse_args(argv)
    try:
        print(report(ROOT, args.old, args.new), end="")
    except (FileNotFoundError, ValueError) as error:
        print(f"codegen diff: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["diff"]:
        return diff_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Compile schema/<api-version>/ into src/pytt_events/_generated/.",
        epilog="also: python -m codegen diff OLD NEW (see python -m codegen diff --help)",
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

"""Cold start: `python benchmarks/startup.py [--runs N] [--events M]`.

What a process pays before its first useful work, each figure the median of N fresh
subprocesses (wall time, the interpreter's own start included; `python -c pass` is printed for
reference):

- `import pytt_events` and `pytt-events --help` (and, for reference, the import of a client);
- EventSender.track: the first call of a process against the median of the M calls after it
  (the sandbox runs in the process, on 127.0.0.1; every event is a new customer, so no call
  finds its values already hashed): without a warm-up, after `sender.api.warm_up()` (models and
  validators built), and after `sender.warm_up()` (those, and the worker thread started, which
  the first track would start).

Each figure is printed next to its target (from the cold-start issue) and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
COMMAND = str(Path(PYTHON).with_name("pytt-events"))

#: The issue's targets: seconds, and the most the first track may cost, in warm tracks.
IMPORT_TARGET = 0.25
HELP_TARGET = 0.30
FIRST_TRACK_TARGET = 10.0

#: A pixel code of the documented shape (20 upper-case letters and digits): no warning.
PIXEL = "CBENCHPIXEL000000000"


def wall(argv: list[str]) -> float:
    """Seconds one run of argv takes, from start to exit."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def median_wall(argv: list[str], runs: int) -> float:
    wall(argv)  # the first run fills the OS's file cache and writes the bytecode
    return statistics.median(wall(argv) for _ in range(runs))


#: The warm-ups compared, by name: what each does before the first track.
WARM_UPS = {
    "none": "no warm-up",
    "api": "sender.api.warm_up()",
    "worker": "sender.warm_up()",
}


def child_track(events: int, warm_up: str) -> None:
    """One process: an EventSender against an in-process sandbox; prints the first track's
    seconds and the median of the next ones, as JSON."""
    sys.path.insert(0, str(HERE))
    from _data import raw_events

    from pytt_events import TikTokAuth
    from pytt_events.sender import EventSender
    from pytt_events.testing import SandboxServer

    now = int(time.time())
    bodies = [
        {
            "event": "Purchase",
            "event_time": now,
            "event_id": raw["event_id"],
            "user": {
                "email": raw["email"],
                "phone": raw["phone"],
                "external_id": raw["external_id"],
                "ip": raw["ip"],
                "user_agent": raw["user_agent"],
                "ttclid": raw["ttclid"],
            },
            "page": {"url": raw["url"]},
            "properties": {
                "currency": raw["currency"],
                "value": raw["value"],
                "contents": [{"content_type": "product", **item} for item in raw["contents"]],
            },
        }
        for raw in raw_events(events + 1, fresh=True)
    ]
    with SandboxServer() as sandbox:
        auth = TikTokAuth(
            TIKTOK_ACCESS_TOKEN=sandbox.access_token,
            TIKTOK_PIXEL_ID=PIXEL,
            TIKTOK_API_BASE_URL=sandbox.base_url,
        )
        with EventSender(auth) as sender:
            if warm_up == "worker":
                sender.warm_up()
            elif warm_up == "api":
                sender.api.warm_up()
            times = []
            for body in bodies:
                started = time.perf_counter()
                sender.track(body)
                times.append(time.perf_counter() - started)
    print(json.dumps({"first": times[0], "warm": statistics.median(times[1:])}))


def track_figures(runs: int, events: int, warm_up: str) -> tuple[float, float]:
    argv = [PYTHON, __file__, "--child-track", str(events), "--warm-up", warm_up]
    found = []
    for _ in range(runs):
        done = subprocess.run(argv, check=True, capture_output=True, text=True)
        found.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return (
        statistics.median(run["first"] for run in found),
        statistics.median(run["warm"] for run in found),
    )


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="subprocesses per figure")
    parser.add_argument("--events", type=int, default=200, help="tracks after the first")
    parser.add_argument("--child-track", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--warm-up", choices=WARM_UPS, default="none", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_track is not None:
        child_track(args.child_track, args.warm_up)
        return

    print(f"medians of {args.runs} runs (wall time, the interpreter's start included)")
    bare = median_wall([PYTHON, "-c", "pass"], args.runs)
    print(f"{'python -c pass':<44}{bare:>8.3f} s")
    took = median_wall([PYTHON, "-c", "import pytt_events"], args.runs)
    print(f"{'import pytt_events':<44}{took:>8.3f} s   target <= {IMPORT_TARGET} s: "
          f"{verdict(took <= IMPORT_TARGET)}")  # fmt: skip
    client = median_wall([PYTHON, "-c", "from pytt_events import TikTokEventsApi"], args.runs)
    print(f"{'from pytt_events import TikTokEventsApi':<44}{client:>8.3f} s   (no target)")
    helped = median_wall([COMMAND, "--help"], args.runs)
    print(f"{'pytt-events --help':<44}{helped:>8.3f} s   target <= {HELP_TARGET} s: "
          f"{verdict(helped <= HELP_TARGET)}")  # fmt: skip

    print(f"\nEventSender.track, first call vs the median of the {args.events} after it (ms)")
    for warm_up, label in WARM_UPS.items():
        first, warm = track_figures(args.runs, args.events, warm_up)
        ratio = first / warm
        print(f"{label:<28}first {first * 1e3:>8.2f}   warm {warm * 1e3:>6.3f}   "
              f"{ratio:>7.1f}x   target <= {FIRST_TRACK_TARGET:.0f}x: "
              f"{verdict(ratio <= FIRST_TRACK_TARGET)}")  # fmt: skip


if __name__ == "__main__":
    main()

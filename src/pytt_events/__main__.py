"""`python -m pytt_events`: the same as the `pytt-events` command."""

from pytt_events.cli import main

main(prog_name="pytt-events")

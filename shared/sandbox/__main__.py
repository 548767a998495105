"""`python -m shared.sandbox --data DIR --port N`: the same as `learncal sandbox`."""

from __future__ import annotations

import argparse
from pathlib import Path

from shared.sandbox.profile import ProfileError
from shared.sandbox.server import DEFAULT_DATA_DIR, serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m shared.sandbox", description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA_DIR,
                        help="data directory (state, CA, identity); default .learncal/sandbox")
    parser.add_argument("--port", type=int, default=0, help="TCP port; 0 picks a free one")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--profile", type=Path, help="tenant profile (from learncal tenant-probe) to behave like")
    parser.add_argument("--organizers", type=int, choices=range(1, 51), metavar="N",
                        help="organizer mailboxes the tenant has (an organizer pool, 1 to 50)")
    args = parser.parse_args(argv)
    try:
        serve(args.data, args.port, args.host, profile=args.profile, organizers=args.organizers)
    except ProfileError as error:
        parser.exit(2, f"error: {error}\n")


if __name__ == "__main__":
    main()

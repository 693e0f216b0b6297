"""`eie-sim fetch`."""

from __future__ import annotations

import argparse
from typing import Any

from eie_sim.support.fetch import RELEASES


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "fetch", help="download a released compressed model into the user cache, checking its checksums"
    )
    parser.add_argument("name", metavar="NAME", help=f"the release: {', '.join(RELEASES)}")

    def run(args: argparse.Namespace) -> int:
        from eie_sim.support.fetch import fetch

        main_file = fetch(args.name)
        for file, sha256 in RELEASES[args.name].sha256.items():
            path = main_file.parent / file
            print(f"{path}  ({path.stat().st_size:,} bytes, sha256 {sha256[:12]}... checked)")
        print(f"{args.name} is ready: eie-sim simulate {args.name}")
        return 0

    parser.set_defaults(run=run, writes={})

"""`livepresenter profiles list|add|show|remove`: the presenters you can put on air.

`add` checks the portrait on the spot (one face, or the largest of several with a warning; small faces warn) and
requires the rights statement, and `--died YEAR` for a historical figure or `--consent` for a living person.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("livepresenter")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    sub.add_parser("list", help="bundled and your own profiles")
    show = sub.add_parser("show", help="everything a profile says, its rights included")
    show.add_argument("name")
    remove = sub.add_parser("remove", help="delete one of your profiles")
    remove.add_argument("name")
    add = sub.add_parser("add", help="make a profile from a portrait image",
                         description="Make a profile from a portrait image. A historical figure needs --died; "
                                     "a living person needs --consent instead.")
    add.add_argument("name", help="profile name: lower-case letters, digits, '_' and '-' (e.g. marie_curie)")
    add.add_argument("--image", type=Path, required=True, help="the portrait (JPEG or PNG)")
    add.add_argument("--rights", required=True, help="licence or rights statement of the image")
    add.add_argument("--died", type=int, default=None, help="year of death, for a historical figure")
    add.add_argument("--consent", default=None, help='for a living person: "who consented, and when"')
    add.add_argument("--display-name", default=None, help="name as shown (default: from NAME, e.g. Marie Curie)")
    add.add_argument("--years", default=None, help='e.g. "1867–1934"')
    add.add_argument("--label", default=None, help='disclosure label (default "AI re-enactment of NAME")')
    add.add_argument("--source", default=None, help="where the image comes from")
    add.add_argument("--attribution", default=None, help="credit line for the image")
    add.add_argument("--force", action="store_true", help="replace a profile of the same name")


def run(args: argparse.Namespace) -> int:
    from livepresenter.presenter import profiles

    if args.action == "list":
        found = profiles.list_profiles()
        width = max((len(p.name) for p in found), default=0)
        for profile in found:
            origin = "bundled" if profile.bundled else "yours"
            years = f" ({profile.years})" if profile.years else ""
            print(f"{profile.name:<{width}}  {profile.display_name}{years}  [{origin}]")
    elif args.action == "show":
        _show(profiles.find_profile(args.name))
    elif args.action == "remove":
        removed = profiles.remove_profile(args.name)
        print(f"removed profile {removed.name} ({removed.folder})")
    else:
        profile, warnings = profiles.add_profile(
            args.name, args.image, rights=args.rights, died=args.died, consent=args.consent,
            display_name=args.display_name, years=args.years, label=args.label, source=args.source,
            attribution=args.attribution, force=args.force)
        for warning in warnings:
            log.warning("warning: %s", warning)
        print(f"added profile {profile.name} ({profile.display_name}) in {profile.folder}")
    return 0


def _show(profile) -> None:
    crop = profile.crop
    rows = {
        "name": profile.name, "display name": profile.display_name, "years": profile.years,
        "label": profile.label, "source": profile.source, "attribution": profile.attribution,
        "rights": profile.rights, "died": profile.died, "consent": profile.consent,
        "crop": f"{crop.width}x{crop.height} at ({crop.x}, {crop.y})" if crop else None,
        "engine": profile.engine, "portrait": profile.portrait,
        "kind": "bundled" if profile.bundled else "yours",
    }
    width = max(map(len, rows))
    for label, value in rows.items():
        if value is not None:
            print(f"{label:<{width}}  {value}")

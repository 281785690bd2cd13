"""The upstream's picture: days from publishing to each distro, release after release.

Drawn as SVG on the server (no script), one row per distro and one column per release,
each cell a bar as long as the days it took, with the same numbers as a table.
"""

from __future__ import annotations

from releases.models import Project, Release

from . import selectors

LEFT, TOP, ROW, CELL, BAR = 130, 28, 26, 120, 70


def reach_picture(project: Project) -> dict | None:
    reaches = selectors.reach_days(project)
    releases = list(
        Release.objects.filter(project=project, published_at__isnull=False)
        .order_by("published_at").values_list("version", flat=True)
    )
    if not reaches or not releases:
        return None
    days: dict[tuple[str, str], int] = {}
    for reach in reaches:  # a distro reached a release when its first branch did
        key = (reach.distro, reach.release)
        days[key] = min(reach.days, days.get(key, reach.days))
    distros = sorted({reach.distro for reach in reaches})
    longest = max(days.values()) or 1
    lines = []
    for row, distro in enumerate(distros):
        cells = []
        for column, version in enumerate(releases):
            value = days.get((distro, version))
            width = 0 if value is None else max(2, round(BAR * value / longest))
            shown = "not yet" if value is None else f"{value} d"
            cells.append({
                "x": LEFT + column * CELL, "width": width, "days": value, "shown": shown,
                "label": f"{distro}, {version}: "
                         + ("not reached" if value is None else f"{value} days after publishing"),
            })
        lines.append({"distro": distro, "y": TOP + row * ROW, "cells": cells})
    return {
        "releases": [{"version": v, "x": LEFT + i * CELL} for i, v in enumerate(releases)],
        "lines": lines,
        "width": LEFT + len(releases) * CELL + 10,
        "height": TOP + len(distros) * ROW + 6,
        "longest": longest,
        "summary": "; ".join(
            f"{line['distro']}: " + ", ".join(
                f"{v} {c['shown']}" for v, c in zip(releases, line["cells"], strict=True))
            for line in lines
        ),
    }

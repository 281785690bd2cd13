"""Prerequisites of the guide, read from the packaging recipe(s) the bundle carries."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator

from ..findings import Finding
from ..patterns import search_lines
from ..policy import Policy, Prereq
from ..recipes import PARSERS, Groups, Relation
from ..registry import check
from ..versions import compare
from ..view import SourceView

_LOWER_BOUND = (">=", ">", "=")
Emit = Callable[[str, str | None, str, str], Finding]


def find_recipes(view: SourceView) -> list[tuple[str, str]]:
    """(family, relative path) of each recipe under the distro's own roots."""
    found = []
    for path in view.own_files():
        base = path.rsplit("/", 1)[-1]
        for family, patterns in view.policy.recipes.items():
            for pat in patterns:
                hit = path.endswith("/" + pat) if "/" in pat else fnmatch.fnmatchcase(base, pat)
                if hit:
                    found.append((family, path))
    return found


@check("recipe-missing", "prereq-missing", "prereq-version-too-low", "prereq-unversioned",
          "prereq-patch-missing", "member-too-large-to-inspect", declared=True)
def prerequisites(view: SourceView) -> Iterator[Finding]:
    if not view.policy.prereqs:
        return
    recipes = find_recipes(view)
    if not recipes:
        kinds = ", ".join(p for pats in view.policy.recipes.values() for p in pats)
        yield view.finding(
            "recipe-missing", view.roots[0],
            f"no packaging recipe ({kinds}) under {' or '.join(view.roots)}: prerequisites unchecked",
            "Include the recipe you build the package with, so its dependencies can be checked.",
        )
        return
    for family, path in recipes:
        data = view.captured.get(path)
        if data is None:
            yield view.finding("member-too-large-to-inspect", path, f"{path} is too large to read",
                               "A recipe is a few kilobytes; check that the right file is there.")
            continue
        text = data.decode("utf-8", "replace")
        groups = PARSERS[family](text)
        yield from evaluate(view.policy, family, groups, path, view.finding)
        yield from _patched_prereq(view, family, groups, path, text)


def evaluate(policy: Policy, family: str, groups: Groups, path: str, emit: Emit) -> Iterator[Finding]:
    """prereq-* findings for one set of dependency groups (a recipe or a binary's fields)."""
    for prereq in policy.prereqs:
        matches = _matching(prereq, groups)
        if not matches:
            yield emit("prereq-missing", path, f"{path} does not require {prereq.name} "
                       f"(known as {', '.join(prereq.aliases[:6])})",
                       f"Add {prereq.name}{f' >= {prereq.min_version}' if prereq.min_version else ''} "
                       "under the name your distro gives it.")
            continue
        if prereq.min_version is None:
            continue
        bounded = [r for r in matches if r.op in _LOWER_BOUND and r.version]
        if not bounded:
            yield emit("prereq-unversioned", path,
                       f"{path} requires {matches[0].name} without a minimum version",
                       f"Require {matches[0].name} >= {prereq.min_version}.")
        elif all(compare(family, r.version or "", prereq.min_version) < 0 for r in bounded):
            r = bounded[0]
            yield emit("prereq-version-too-low", path,
                       f"{path} requires {r.name} {r.op} {r.version}, below the minimum "
                       f"{prereq.min_version}", f"Require {r.name} >= {prereq.min_version}.")


def _matching(prereq: Prereq, groups: Groups) -> list[Relation]:
    aliases = set(prereq.aliases)
    return [r for group in groups for r in group if r.name.split(":", 1)[0] in aliases]


def _patched_prereq(view: SourceView, family: str, groups: Groups, path: str, text: str) -> Iterator[Finding]:
    rule = view.policy.patched_prereq
    if rule is None:
        return
    # Line by line, each line bounded: the pattern is the policy's, the text the uploader's.
    if search_lines(rule.patch_pattern, text) or any(search_lines(rule.patch_pattern, p)
                                                     for p in view.own_files()):
        return  # the recipe (or the distro's patch set) applies the patch
    prereq = next(p for p in view.policy.prereqs if p.name == rule.prereq)
    fixed = [r for r in _matching(prereq, groups)
             if r.op in _LOWER_BOUND and r.version and compare(family, r.version, rule.fixed_version) >= 0]
    if fixed:
        return
    yield view.policy.finding(
        rule.check, path,
        f"{path} neither applies the {rule.prereq} patch nor requires "
        f"{rule.prereq} >= {rule.fixed_version}",
        f"Apply the patch for {rule.prereq} that the source package ships (the policy finds it as "
        f"/{rule.patch_pattern.pattern}/), or require {rule.prereq} >= {rule.fixed_version} if your "
        "distro ships a fixed one.",
    )

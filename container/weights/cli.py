"""`selfie2anime model ...`: install, describe and verify the generator weights."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
from pathlib import Path

from container.weights.errors import WeightsError
from container.weights.install import install_weights
from container.weights.installed import verify_weights, weights_info
from container.weights.paths import DEFAULT_WEIGHTS_DIR, MANIFEST_NAME, TEMPORARY_PREFIX, WEIGHTS_DIR_ENV
from functions.core.keys import FACE_SIZE

_FORMATS_HELP = (
    "a .safetensors file written by selfie2anime (manifest.json beside it or its description in the header), "
    "a UGATIT-pytorch .pt checkpoint, or a TensorFlow U-GAT-IT checkpoint directory (needs the convert extra)"
)


def _directory_path(text: str) -> Path:
    """Return `text` as a path; an empty value would silently mean the current directory."""
    if not text.strip():
        raise argparse.ArgumentTypeError("the weights directory must not be empty")
    return Path(text)


def build_parser(prog: str = "selfie2anime model") -> argparse.ArgumentParser:
    """Build the argument parser; its help text is the command's documentation."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=(
            "Manage the U-GAT-IT generator weights. Weights are never downloaded implicitly: install them "
            "once with `install`, and the worker loads them strictly and refuses to start if anything is "
            f"wrong. The weights directory is --weights-dir, else ${WEIGHTS_DIR_ENV}, else {DEFAULT_WEIGHTS_DIR}."
        ),
    )
    parser.add_argument("--weights-dir", type=_directory_path, help="weights directory to use instead of the default")
    # Each command also takes --weights-dir after its name; SUPPRESS keeps the value given before it.
    directory_option = argparse.ArgumentParser(add_help=False)
    directory_option.add_argument(
        "--weights-dir", type=_directory_path, default=argparse.SUPPRESS, help="weights directory to use instead of the default"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    install = commands.add_parser(
        "install",
        parents=[directory_option],
        help="install weights from a file, directory or URL",
        description=(
            f"Install generator weights from {_FORMATS_HELP}. URLs (http or https) are downloaded into a "
            "temporary file in the weights directory. Every network is loaded strictly before the new weights "
            "replace the old ones, so a failed install leaves the previous weights in place."
        ),
    )
    install.add_argument("source", metavar="PATH|URL", help="local path or http(s) URL of the weights")
    install.add_argument(
        "--sha256", metavar="HEX", help="expected SHA-256 of the file (64 hex digits), checked before installing"
    )

    commands.add_parser(
        "info",
        parents=[directory_option],
        help="show the installed weights",
        description="Print the installed weights' manifest: format, mode, image size, channels, source, SHA-256.",
    )
    info = commands.choices["info"]
    info.add_argument("--json", action="store_true", help="print the manifest fields as JSON")

    commands.add_parser(
        "verify",
        parents=[directory_option],
        help="re-hash the weights file and load every network strictly",
        description=(
            "Re-compute the weights file's SHA-256, compare it with manifest.json, and load every network "
            "in the file strictly. Exits with status 1 and names the problem if anything is wrong."
        ),
    )
    return parser


def _print_info(info: dict[str, object]) -> None:
    order = ("weights_dir", "path", "format", "mode", "image_size", "channels", "n_res", "networks",
             "size_bytes", "sha256", "source", "installed_at")  # fmt: skip
    for key in order:
        value = info.get(key)
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        print(f"{key}: {value}")
    if not info.get("file_present"):
        print("warning: the weights file is missing; run `selfie2anime model install` again")


def _warn_about_face_size(image_size: int) -> None:
    if image_size != FACE_SIZE:
        print(
            f"warning: these weights are for {image_size}x{image_size} faces, but the validator aligns faces "
            f"to {FACE_SIZE}x{FACE_SIZE}, so the worker will refuse to start with them; install weights trained "
            f"at {FACE_SIZE} px",
            file=sys.stderr,
        )


def _where(filename: object) -> str:
    """Describe the file an OS error names, as the weights directory when it is a temporary file."""
    if not filename:
        return ""
    path = Path(str(filename))
    if path.name.startswith((TEMPORARY_PREFIX, f".{MANIFEST_NAME}.")):
        return f" (weights directory {path.parent})"
    return f" ({path})"


def cli_main(argv: list[str]) -> int:
    """Run `selfie2anime model` with `argv` (the arguments after "model"); returns the exit status.

    Errors are printed as one line on stderr with status 1; argparse usage errors exit with status 2.
    """
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM ends an install the way Ctrl+C does, so its temporary file is removed.
    previous_handler = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, previous_handler)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "install":
            manifest = install_weights(args.source, sha256=args.sha256, weights_dir=args.weights_dir)
            print(
                f"installed {manifest.file}: {manifest.format}, {manifest.mode} mode, {manifest.image_size}px, "
                f"networks {', '.join(manifest.networks)}, sha256 {manifest.sha256}"
            )
            _warn_about_face_size(manifest.image_size)
        elif args.command == "info":
            info = weights_info(args.weights_dir)
            if args.json:
                print(json.dumps(info, indent=2, sort_keys=True))
            else:
                _print_info(info)
        else:
            manifest = verify_weights(args.weights_dir)
            print(
                f"ok: {manifest.file} matches sha256 {manifest.sha256}; "
                f"{', '.join(manifest.networks)} loaded strictly ({manifest.mode} mode)"
            )
            _warn_about_face_size(manifest.image_size)
    except KeyboardInterrupt:
        print("error: interrupted; nothing was changed in the weights directory", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`); nothing more can be printed there.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except WeightsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: {error.strerror or error}{_where(error.filename)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(cli_main(sys.argv[1:]))

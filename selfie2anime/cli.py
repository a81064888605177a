"""The `selfie2anime` command: run the pipeline on one machine, and manage GAN weights."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

DEFAULT_EMAIL = "you@example.com"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is outside 0-65535")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number of seconds")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="selfie2anime", description="Turn a selfie into an anime portrait, on one machine or on AWS.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run one photo through the whole pipeline on an embedded AWS (moto on 127.0.0.1)",
        description=(
            "Start the embedded stack, create a job through the HTTP API, upload the photo with the presigned POST, "
            "and wait for the email. Exits 0 only if the email arrived."
        ),
    )
    demo.add_argument("photo", nargs="?", type=Path, help="the photo to use (default: scikit-image's public-domain astronaut portrait)")
    demo.add_argument("--email", default=DEFAULT_EMAIL, help=f"the address the email goes to (default: {DEFAULT_EMAIL}; nothing leaves this machine)")
    demo.add_argument("--outbox", type=Path, default=Path("outbox"), help="folder for the .eml files and portraits (default: ./outbox)")
    demo.add_argument("--style", choices=["auto", "gan", "preview"], default="auto",
                      help="auto: the GAN if weights are installed, else the preview style (default: auto)")
    demo.add_argument("--timeout", type=_seconds, default=300.0, help="seconds to wait for the email (default: 300)")

    serve = commands.add_parser("serve", help="keep the embedded stack running and serve the upload page on 127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080, help="port of the page and the API (default: 8080; 0 picks a free one)")
    serve.add_argument("--outbox", type=Path, default=Path("outbox"), help="folder for the .eml files (default: ./outbox)")
    serve.add_argument("--style", choices=["auto", "gan", "preview"], default="auto", help="the worker's style (default: auto)")

    model = commands.add_parser("model", help="install, inspect and verify U-GAT-IT weights", add_help=False)
    model.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["model"]:
        from container.weights.cli import cli_main

        return cli_main(argv[1:])
    args = _parser().parse_args(argv)
    # SIGTERM stops the command the way Ctrl+C does: the embedded stack shuts down in order.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.command == "demo":
            return run_demo(args.photo, email=args.email, outbox=args.outbox, style=args.style, timeout=args.timeout)
        if args.command == "serve":
            return run_serve(port=args.port, outbox=args.outbox, style=args.style)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    return 2


def _log_file(outbox: Path) -> Path:
    return outbox / "logs" / f"selfie2anime-{time.strftime('%Y%m%d-%H%M%S')}.jsonl"


def run_demo(photo: Path | None, *, email: str, outbox: Path, style: str, timeout: float) -> int:
    from selfie2anime.demo import DemoError, create_job, inline_portrait, read_photo, sample_photo, upload, wait_for_email
    from selfie2anime.embedded.stack import EmbeddedOptions, EmbeddedStack

    out = sys.stdout
    try:
        data, filename, content_type = read_photo(photo) if photo else sample_photo()
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    log_file = _log_file(outbox)
    out.write("Starting the embedded stack (moto on 127.0.0.1, local pollers, worker on CPU)...\n")
    try:
        stack = EmbeddedStack(EmbeddedOptions(outbox=outbox, log_file=log_file, style=style)).start()
    except Exception as error:  # noqa: BLE001 - one readable line, the details are in the log
        print(f"error: the embedded stack did not start: {error}", file=sys.stderr)
        return 1
    try:
        out.write(f"  AWS endpoint  {stack.endpoint}\n  API           {stack.api.url}\n  logs          {log_file}\n")
        from container.model.stylizer import PREVIEW_REASON_NO_WEIGHTS

        if getattr(stack.stylizer, "reason", None) == PREVIEW_REASON_NO_WEIGHTS:
            out.write(f"  style         {stack.stylizer.description}; see README (selfie2anime model install)\n")
        else:
            out.write(f"  style         {stack.stylizer.description}\n")
        job = create_job(stack.api.url, email)
        out.write(f"Job {job['job_id']}\n")
        upload(job, data, filename, content_type)
        out.write(f"  uploaded {len(data)} bytes ({photo or 'astronaut portrait'}) with the presigned POST\n")
        result = wait_for_email(stack, job, timeout=timeout, out=out)
    except DemoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001
        print(f"error: the demo failed: {error} (details in {log_file})", file=sys.stderr)
        return 1
    finally:
        stack.stop()

    out.write(f"Result: {result.status}")
    out.write(f" ({result.reason})\n" if result.reason else "\n")
    if result.reason:
        from functions.core.reasons import explain

        explanation = explain(result.reason)
        out.write(f"  {explanation.what} {explanation.advice}\n")
    if result.portrait_path:
        out.write(f"  portrait      {result.portrait_path}\n")
    out.write(f"  email         {result.eml_path}\n")
    if result.portrait_path and result.eml_path:
        inline = inline_portrait(result.eml_path)
        matches = inline is not None and inline == result.portrait_path.read_bytes()
        out.write(f"  the email's inline image {'is' if matches else 'is NOT'} the stored portrait\n")
        if not matches:
            return 1
    return 0


def run_serve(*, port: int, outbox: Path, style: str) -> int:
    from selfie2anime.embedded.stack import EmbeddedOptions, EmbeddedStack

    log_file = _log_file(outbox)
    try:
        stack = EmbeddedStack(EmbeddedOptions(outbox=outbox, log_file=log_file, style=style, api_port=port)).start()
    except OSError as error:
        print(f"error: could not start the local server on port {port}: {error}; pick another with --port", file=sys.stderr)
        return 1
    print(f"Upload page: {stack.api.url}/\nEmails are written to {outbox}/, logs to {log_file}. Press Ctrl+C to stop.")
    try:
        while True:
            time.sleep(0.5)
            for path in stack.outbox.flush():
                print(f"  email written: {path}")
    except KeyboardInterrupt:
        print("Stopping.")
    finally:
        stack.stop()
    return 0

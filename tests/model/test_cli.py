"""`selfie2anime model install|info|verify`, driven through `cli_main`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from container.weights.cli import build_parser, cli_main
from container.weights.files import sha256_file
from container.weights.manifest import read_manifest


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = cli_main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_install_info_verify(light_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights_dir = str(tmp_path / "weights")
    digest = sha256_file(light_checkpoint)

    status, out, err = _run(capsys, "--weights-dir", weights_dir, "install", str(light_checkpoint), "--sha256", digest)
    assert (status, err) == (0, "")
    assert out.startswith("installed ugatit-light-")
    assert "light mode" in out

    status, out, _ = _run(capsys, "--weights-dir", weights_dir, "info")
    assert status == 0
    assert "mode: light" in out
    assert "format: ugatit-pytorch" in out
    assert f"source: {light_checkpoint.resolve()}" in out

    status, out, _ = _run(capsys, "--weights-dir", weights_dir, "info", "--json")
    assert status == 0
    assert json.loads(out)["channels"] == 4

    status, out, _ = _run(capsys, "--weights-dir", weights_dir, "verify")
    assert status == 0
    assert out.startswith("ok: ")
    assert "loaded strictly" in out


def test_errors_are_one_line(light_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _run(capsys, "--weights-dir", str(tmp_path), "install", str(light_checkpoint), "--sha256", "0" * 64)
    assert status == 1
    assert out == ""
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_info_without_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = _run(capsys, "--weights-dir", str(tmp_path), "info")
    assert status == 1
    assert "no weights installed" in err


def test_verify_reports_damaged_file(light_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, "--weights-dir", str(tmp_path), "install", str(light_checkpoint))
    path = tmp_path / read_manifest(tmp_path).file
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))

    status, _, err = _run(capsys, "--weights-dir", str(tmp_path), "verify")
    assert status == 1
    assert "SHA-256" in err


def test_weights_dir_defaults_to_environment(
    light_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("S2A_WEIGHTS_DIR", str(tmp_path / "env"))
    status, _, _ = _run(capsys, "install", str(light_checkpoint))
    assert status == 0
    assert (tmp_path / "env" / "manifest.json").is_file()


@pytest.mark.parametrize("command", ["install", "info", "verify"])
def test_every_command_has_help(command: str) -> None:
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")
    subparser = subparsers.choices[command]  # type: ignore[attr-defined]
    assert subparser.description
    help_text = subparser.format_help()
    for action in subparser._actions:
        if action.dest != "help":
            assert action.help, f"{command} {action.dest} has no help"
    assert command in help_text


def test_usage_error_exits_with_status_two(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli_main(["install"])
    assert caught.value.code == 2
    assert "PATH|URL" in capsys.readouterr().err

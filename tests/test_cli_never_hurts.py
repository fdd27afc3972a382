"""Every `mss` sub-command, found by walking the parser (so new ones are covered too), on a
missing data folder, with wrong arguments and with nonsense values on a real folder: one
line on stderr and a non-zero exit, never a traceback, never a new data folder."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mss.cli import _command_parsers, build_parser, main

UNEXPECTED = "unexpected error"


def _leaves() -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """(words after `mss`, parser) of every command that runs something."""
    found = []
    for parser in _command_parsers(build_parser()):
        if parser.get_default("handler") is None or any(
                isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue
        found.append((tuple(parser.prog.split()[1:]), parser))
    return found


LEAVES = _leaves()
# init and serve make their folder; config, bench and the dev provider need none
DATA_LEAVES = [(w, p) for w, p in LEAVES if p.get_default("needs_data") is not False]


def _filler(action: argparse.Action, tmp: Path) -> str:
    if action.choices:
        return str(next(iter(action.choices)))
    if action.type is int:
        return "1"
    if action.type is Path:
        return str(tmp / "no-such-file")
    return "x"


def _required_args(parser: argparse.ArgumentParser, tmp: Path) -> list[str]:
    argv: list[str] = []
    for action in parser._actions:
        if action.option_strings:
            if action.required:
                argv += [action.option_strings[0], _filler(action, tmp)]
        elif not isinstance(action, argparse._SubParsersAction) and action.nargs != "?":
            argv.append(_filler(action, tmp))
    return argv


def _run(argv: list[str], capsys, monkeypatch) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own exit, after its one line
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _assert_one_line_refusal(code: int, err: str, what: str) -> None:
    assert code != 0, what
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"{what}: {err!r}"
    assert "Traceback" not in err and UNEXPECTED not in err, f"{what}: {err!r}"


def test_the_walk_finds_every_command() -> None:
    names = {" ".join(words) for words, _ in LEAVES}
    assert {"init", "serve", "db current", "vault list", "directory import", "backup",
            "queue list", "certs issue operator", "api token create"} <= names


@pytest.mark.parametrize(("words", "parser"), DATA_LEAVES,
                         ids=[" ".join(w) for w, _ in DATA_LEAVES])
def test_on_a_missing_folder(words, parser, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    missing = tmp_path / "typo"
    argv = ["--data", str(missing), *words, *_required_args(parser, tmp_path)]
    code, _, err = _run(argv, capsys, monkeypatch)
    _assert_one_line_refusal(code, err, " ".join(argv))
    assert "no such data folder" in err
    assert not missing.exists()
    # the same with --data after the command, as operators type it
    code, _, err = _run([*words, *_required_args(parser, tmp_path), "--data", str(missing)],
                        capsys, monkeypatch)
    _assert_one_line_refusal(code, err, " ".join(words))
    assert not missing.exists()


def test_a_folder_without_key_or_database(make_settings, capsys, monkeypatch) -> None:
    settings = make_settings()
    settings.master_key_path.unlink()
    code, _, err = _run(["--data", str(settings.data_dir), "mailbox", "list"], capsys,
                        monkeypatch)
    _assert_one_line_refusal(code, err, "no key")
    assert "master key file is missing" in err
    assert not settings.master_key_path.exists()


def test_a_folder_without_database(tmp_path, capsys, monkeypatch) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "master.key").write_text("00" * 32 + "\n")
    monkeypatch.delenv("MSS_DATABASE_URL", raising=False)
    code, _, err = _run(["--data", str(folder), "db", "current"], capsys, monkeypatch)
    _assert_one_line_refusal(code, err, "no database")
    assert "no database" in err and not (folder / "mss.db").exists()


@pytest.mark.parametrize(("words", "parser"), LEAVES, ids=[" ".join(w) for w, _ in LEAVES])
def test_wrong_arguments(words, parser, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    base = ["--data", str(tmp_path / "typo"), *words]
    code, _, err = _run([*base, *_required_args(parser, tmp_path), "--no-such-option"],
                        capsys, monkeypatch)
    _assert_one_line_refusal(code, err, "unknown option")
    assert "--no-such-option" in err
    if _required_args(parser, tmp_path):
        code, _, err = _run(base, capsys, monkeypatch)
        _assert_one_line_refusal(code, err, "nothing given")
    for action in parser._actions:
        if action.type is int:
            argv = [*base, *_required_args(parser, tmp_path)]
            if action.option_strings:
                argv += [action.option_strings[0], "abc"]
            else:
                argv[argv.index("1")] = "abc"
            code, _, err = _run(argv, capsys, monkeypatch)
            _assert_one_line_refusal(code, err, "not a number")
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(("words", "parser"), DATA_LEAVES,
                         ids=[" ".join(w) for w, _ in DATA_LEAVES])
def test_nonsense_values_on_a_real_folder(words, parser, make_settings, tmp_path, capsys,
                                          monkeypatch) -> None:
    """Placeholders for every value ('x', 1, a missing file) on a working folder: the
    command may do its job or refuse, but a refusal is one line and never a traceback."""
    monkeypatch.chdir(tmp_path)
    settings = make_settings()
    config = tmp_path / "mss.toml"
    url = settings.database.url
    config.write_text(f'[database]\nurl = "{url}"\n' if url else "", encoding="utf-8")
    argv = ["--config", str(config), "--data", str(settings.data_dir), *words,
            *_required_args(parser, tmp_path)]
    code, _, err = _run(argv, capsys, monkeypatch)
    assert "Traceback" not in err and UNEXPECTED not in err, err
    if code != 0:
        _assert_one_line_refusal(code, err, " ".join(argv))


def test_a_real_process_prints_no_traceback(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for argv in (["db", "current"], ["vault", "list", "X" * 15], ["queue", "list"]):
        done = subprocess.run([sys.executable, "-m", "mss", "--data", str(tmp_path / "typo"),
                               *argv], capture_output=True, text=True, env=env, check=False)
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "typo").exists()

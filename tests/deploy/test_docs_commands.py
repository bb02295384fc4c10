"""The commands the documentation shows are the commands that work.

* the README's two commands are targets of the Makefile;
* every shell block of ``docs/getting-started.md`` runs, in order, in an empty directory (the
  blocks that are ``make`` commands are checked as Makefile targets instead: ``make test`` would run
  this very test);
* every ``sebac …`` line of a shell block anywhere in the docs or the README names a real
  subcommand, and each of its options exists.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer

from sebac.cli import app

ROOT = Path(__file__).resolve().parents[2]
SHELL_LANGS = {"bash", "sh", "shell", "console"}
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def shell_blocks(path: Path) -> list[str]:
    """The fenced blocks of a Markdown file whose language is a shell, in order."""
    return shell_blocks_in(path.read_text(encoding="utf-8"))


def shell_blocks_in(text: str) -> list[str]:
    blocks, current, fence = [], None, None
    for line in text.splitlines():
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(`{3,}|~{3,})\s*([\w-]*)", stripped)
            if m:
                fence, current = m.group(1), ([] if m.group(2) in SHELL_LANGS else None)
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            if current is not None:
                blocks.append("\n".join(current))
            fence, current = None, None
        elif current is not None:
            current.append(line)
    return blocks


def command_lines(block: str) -> list[str]:
    """Logical lines (continuations joined), without ``$ `` prompts; console output lines dropped."""
    console = any(line.lstrip().startswith("$ ") for line in block.splitlines())
    out, pending = [], ""
    for raw in block.splitlines():
        line = raw.strip()
        if console and not pending:
            if not line.startswith("$ "):
                continue
            line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    return [line for line in out if line]


def is_make_block(block: str) -> bool:
    lines = command_lines(block)
    return bool(lines) and all(line.split()[0] == "make" for line in lines)


def make_targets(block: str) -> list[str]:
    return [shlex.split(line, comments=True)[1] for line in command_lines(block)]


# -- the README's two commands, and make blocks anywhere ------------------------------------------------

MAKE_BLOCKS = [(p.relative_to(ROOT).as_posix(), b) for p in PAGES for b in shell_blocks(p) if is_make_block(b)]


def test_readme_shows_the_two_commands():
    targets = [t for page, b in MAKE_BLOCKS if page == "README.md" for t in make_targets(b)]
    assert targets == ["run", "test"]


@pytest.mark.parametrize(("target", "runs"), [
    ("run", "sebac serve --demo"),
    ("test", "-m pytest"),
    ("docs", "mkdocs build --strict"),
])
def test_make_targets_do_what_the_docs_say(target, runs, tmp_path):
    # a dry run (-n) with a venv path that does not exist: shows every step a fresh machine would take
    dry = subprocess.run(["make", "-n", "-C", str(ROOT), target, f"VENV={tmp_path / 'venv'}"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert runs in dry.stdout
    assert "pip install -e" in dry.stdout          # a fresh machine gets everything installed first


def test_every_make_command_shown_is_a_target():
    phony = re.search(r"^\.PHONY:(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE).group(1).split()
    shown = {t for _, b in MAKE_BLOCKS for t in make_targets(b)}
    assert shown and shown <= set(phony)


# -- getting started, run for real -------------------------------------------------------------------

@pytest.mark.slow
def test_getting_started_blocks_run_in_an_empty_directory(tmp_path):
    blocks = [b for b in shell_blocks(ROOT / "docs" / "getting-started.md") if not is_make_block(b)]
    assert len(blocks) >= 5, "the getting-started page lost its step-by-step blocks"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEBAC_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"   # the venv's `sebac`
    env["PYTHONPATH"] = str(ROOT)                                                    # this checkout's code
    env["COLUMNS"] = "200"
    script = "set -euo pipefail\n" + "\n".join(
        f"echo '>>> block {i}' >&2\n{b}" for i, b in enumerate(blocks, 1))
    done = subprocess.run(["bash", "-c", script], check=False, cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"
    out = done.stdout + done.stderr
    # what the page says the commands show
    assert "database is up to date" in out
    assert "user epi.djenne (district at ML-MOP-DJENNE) created" in out
    assert re.search(r"3 items: 2 accepted, 0 duplicate, 1 rejected", out)
    assert re.search(r"3 items: 0 accepted, 2 duplicate, 1 rejected", out)
    assert "report.orgunit.unknown" in out
    assert "2 weekly counts stored" in out
    assert "dry run: nothing was written" in out
    assert (tmp_path / "data" / "sebac.db").exists()   # the relative URL of the page, in the empty directory


# -- every `sebac` line anywhere ---------------------------------------------------------------------

SHELL_OPERATORS = {"&", "&&", "|", "||", ";", ">", ">>", "<", "2>", "2>&1"}


def sebac_lines() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for block in shell_blocks(page):
            for line in command_lines(block):
                for part in re.split(r"&&|\|\||;|\|", line):
                    part = part.strip()
                    if part.startswith("sebac "):
                        found.append((page.relative_to(ROOT).as_posix(), part))
    return found


def check_command_line(root: Any, line: str) -> list[str]:
    """Problems of one ``sebac …`` line against the real command tree: unknown subcommand or option."""
    tokens = []
    for tok in shlex.split(line, comments=True)[1:]:
        if tok in SHELL_OPERATORS:
            break
        tokens.append(tok)
    command, path = root, ["sebac"]
    while hasattr(command, "commands"):   # a group (typer's click or click's)
        if not tokens or tokens[0].startswith("-"):
            break
        name = tokens.pop(0)
        if name not in command.commands:
            return [f"{' '.join(path)} has no subcommand {name!r}"]
        command, path = command.commands[name], [*path, name]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    return [f"{' '.join(path)} has no option {tok.split('=')[0]!r}"
            for tok in tokens if tok.startswith("-") and tok != "-" and tok.split("=")[0] not in known]


SEBAC_LINES = sebac_lines()


def test_docs_show_sebac_commands():
    assert len(SEBAC_LINES) >= 30
    assert {page for page, _ in SEBAC_LINES} >= {"docs/getting-started.md", "docs/deploying/kafka.md",
                                                 "docs/detectors.md", "docs/alerts.md", "docs/operations.md"}


@pytest.mark.parametrize(("page", "line"), SEBAC_LINES, ids=[f"{p}: {line[:60]}" for p, line in SEBAC_LINES])
def test_sebac_command_line_matches_the_cli(page, line):
    assert check_command_line(typer.main.get_command(app), line) == []


@pytest.mark.parametrize(("line", "problem"), [
    ("sebac serve --demo --demo-seconds 12", None),
    ("sebac users create --username x --role district --orgunit ML", None),
    ("sebac evaluate-week --week 2026-W47 --weeks 52 --workers 2", None),
    ("sebac worker &", None),
    ("sebac serve --no-such-flag", "sebac serve has no option '--no-such-flag'"),
    ("sebac users delete --username x", "sebac users has no subcommand 'delete'"),
    ("sebac frobnicate", "sebac has no subcommand 'frobnicate'"),
])
def test_the_check_catches_drift(line, problem):
    assert check_command_line(typer.main.get_command(app), line) == ([problem] if problem else [])


def test_shell_block_parsing():
    text = ("x\n```bash\nsebac a \\\n  --b 1  # note\n```\n```\nnot shell\n```\n"
            "````console\n$ sebac c\nout\n````\n")
    assert [command_lines(b) for b in shell_blocks_in(text)] == [["sebac a  --b 1  # note"], ["sebac c"]]


def test_readme_links_and_images_resolve():
    # the site's links are checked by `mkdocs build --strict`; the README is outside the site
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    local = [t.split("#")[0] for t in targets if not re.match(r"^[a-z]+://", t) and not t.startswith("#")]
    assert len(local) >= 10
    assert [t for t in local if not (ROOT / t).exists()] == []
    assert len(text.splitlines()) <= 250

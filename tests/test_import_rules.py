"""The allowed imports of docs/architecture.md §2, checked on the source: an arrow the map
forbids fails here, naming the file, the line and the import.

Imports under `if TYPE_CHECKING:` are types only and are not arrows; every other import
is, wherever it sits (a late import inside a function is an arrow too). The Alembic
scripts (`mss/store/migrations/`) describe every part's schema and are left out.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "mss"

COMMAND_LAYER = "commands"  # the `mss` command and its sub-commands: may import anything
TOP = {"app", "composition", "schema_tables"}  # above every part

# plain vocabulary and tools: anyone may import
BASE = {"identity", "clock", "background", "distinguished_names"}

ALLOWED: dict[str, set[str]] = {
    "identity": set(),
    "distinguished_names": set(),
    "clock": set(),
    "background": set(),
    "policy": {"identity", "distinguished_names"},
    "config": {"identity", "clock", "vault"},  # vault.access_matrix, to check its file
    "store": {"config", "clock", "identity"},
    "event_log": {"store", "config", "clock", "identity"},
    "metrics": {"store", "config", "clock", "identity"},
    "certs": {"config", "clock", "identity"},
    "directory": {"store", "config", "clock", "identity", "certs", "event_log", "policy"},
    "notify": {"store", "directory", "config", "clock", "identity", "event_log"},
    "oidc": {"store", "directory", "config", "clock", "identity", "event_log"},
    "vault": {"store", "directory", "policy", "config", "clock", "identity", "event_log"},
    "agenda": {"store", "directory", "notify", "vault", "policy", "config", "identity",
               "clock", "event_log"},
    "profile": {"store", "directory", "vault", "policy", "config", "identity", "clock",
                "event_log"},
    "read_models": {"store", "directory", "policy", "config", "clock", "identity"},
    "pipeline": {"store", "directory", "policy", "vault", "certs", "config", "clock",
                 "identity", "event_log", "read_models"},
    "proxy_protocol": {"config", "event_log", "store", "clock", "identity"},
}
ADAPTERS = {"smtp", "imap", "webmail", "admin_listener"}
for _adapter in ADAPTERS:
    ALLOWED[_adapter] = {"pipeline", "read_models", "store", "directory", "policy", "vault",
                         "certs", "oidc", "notify", "agenda", "profile", "config", "clock",
                         "identity", "event_log", "metrics", "proxy_protocol"}
# the admin listener (metrics, health) serves HTTP with the webmail's embedded server
ALLOWED["admin_listener"] = {"config", "metrics", "store", "webmail", "clock", "identity"}
NO_SQL = ADAPTERS | {"policy"}
NO_IO = {"asyncio", "socket", "ssl", "sqlalchemy", "aiosmtplib", "httpx", "subprocess"}


@dataclass(frozen=True)
class Arrow:
    file: str
    line: int
    source: str  # the importing part
    target: str  # the imported module


def _command_modules() -> set[str]:
    """`mss.cli`, `mss.demo`, and every module that adds sub-commands to `mss`."""
    found = {"mss.cli", "mss.__main__", "mss.demo"}
    for path in ROOT.rglob("*.py"):
        if "def add_commands(" in path.read_text():
            found.add(".".join(path.relative_to(ROOT.parent).with_suffix("").parts))
    return found


COMMAND_MODULES = _command_modules()


def part_of(path: Path) -> str:
    relative = path.relative_to(ROOT)
    if ".".join(path.relative_to(ROOT.parent).with_suffix("").parts) in COMMAND_MODULES:
        return COMMAND_LAYER
    return relative.parts[0].removesuffix(".py") if len(relative.parts) > 1 else relative.stem


def target_part(module: str) -> str | None:
    bits = module.split(".")
    if bits[0] != "mss" or len(bits) == 1:
        return None
    if module in COMMAND_MODULES:
        return COMMAND_LAYER
    return bits[1]


def _type_only(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    return hidden


def arrows() -> list[Arrow]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(), str(path))
        hidden = _type_only(tree)
        source = part_of(path)
        for node in ast.walk(tree):
            if id(node) in hidden:
                continue
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "mss":
                    modules = [f"mss.{alias.name}" for alias in node.names]
            else:
                continue
            found.extend(Arrow(str(path.relative_to(ROOT.parent)), node.lineno, source, module)
                         for module in modules)
    return found


def forbidden(arrow: Arrow) -> str | None:
    """Why the map forbids `arrow`, or None."""
    source, module = arrow.source, arrow.target
    top = module.split(".")[0]
    if source in NO_SQL and top == "sqlalchemy":
        return f"no sqlalchemy in mss/{source}"
    if source == "policy" and top in NO_IO:
        return "mss/policy is pure: no I/O"
    target = target_part(module)
    if target is None or target == source or source == COMMAND_LAYER:
        return None
    if target == COMMAND_LAYER:
        return "only the command layer imports the commands and mss.cli"
    if source in TOP:
        return None
    if target in TOP:
        return "nothing below the composition root imports it"
    if target in BASE and source != "policy":
        return None
    if target not in ALLOWED.get(source, set()):
        return f"mss.{source} may not import mss.{target}"
    return None


def test_every_import_follows_the_map() -> None:
    broken = [f"{a.file}:{a.line}: {a.target} ({why})"
              for a in arrows() if (why := forbidden(a)) is not None]
    assert broken == []


def test_every_part_of_the_package_is_on_the_map() -> None:
    parts = {part_of(path) for path in ROOT.rglob("*.py") if "migrations" not in path.parts}
    unknown = parts - set(ALLOWED) - TOP - {COMMAND_LAYER, "__init__"}
    assert unknown == set()


@pytest.mark.parametrize(("source", "module", "why"), [
    ("smtp", "sqlalchemy", "no sqlalchemy in mss/smtp"),
    ("imap", "sqlalchemy.orm", "no sqlalchemy in mss/imap"),
    ("webmail", "sqlalchemy", "no sqlalchemy in mss/webmail"),
    ("policy", "asyncio", "mss/policy is pure: no I/O"),
    ("policy", "mss.store.store", "mss.policy may not import mss.store"),
    ("vault", "mss.pipeline.tables", "mss.vault may not import mss.pipeline"),
    ("store", "mss.pipeline.tables", "mss.store may not import mss.pipeline"),
    ("store", "mss.directory.mail_access", "mss.store may not import mss.directory"),
    ("read_models", "mss.pipeline.accept", "mss.read_models may not import mss.pipeline"),
    ("webmail", "sqlalchemy.sql", "no sqlalchemy in mss/webmail"),
    ("smtp", "mss.app", "nothing below the composition root imports it"),
    ("pipeline", "mss.cli", "only the command layer imports the commands and mss.cli"),
])
def test_the_rule_catches_a_wrong_arrow(source: str, module: str, why: str) -> None:
    """The checker itself: the known wrong arrows of the past are caught."""
    assert forbidden(Arrow("x.py", 1, source, module)) == why


def test_allowed_arrows_pass() -> None:
    for source, module in [("pipeline", "mss.vault.deposit"), ("webmail", "mss.pipeline.accept"),
                           ("composition", "mss.webmail.service"), ("commands", "mss.app")]:
        assert forbidden(Arrow("x.py", 1, source, module)) is None

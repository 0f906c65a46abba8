"""The house's rule: a package imports only what lies below it, so no module reaches back up.

From the bottom: `errors`, `choices` and `progress`; `media` (files in and out); `faces`
(detectors, embedders, boxes); then the two halves, `redact` and `audit`, which never import
each other; `distributed` (runs either half's jobs on a cluster), `web` (the review page, over
`redact`), and `cli` on top. Inside `audit`, `stats` and `set_aside` are the floor, `report`
the roof, and `verification`, `detection` and `identification` never import `report`.
"""

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "unseen"

BASE = {"errors", "choices", "progress", "unseen"}
ALLOWED = {
    "errors": set(), "choices": {"errors"}, "progress": {"errors"}, "examples": BASE | {"media"},
    "media": BASE,
    "faces": BASE | {"media"},
    "redact": BASE | {"media", "faces"},
    "audit": BASE | {"media", "faces"},
    "distributed": BASE | {"media", "faces", "redact", "audit"},
    "web": BASE | {"media", "faces", "redact"},
    "cli": BASE | {"media", "faces", "redact", "audit", "distributed", "web", "examples"},
    "__main__": {"cli"},
}
AUDIT_ALLOWED = {
    "stats": set(), "set_aside": set(), "scale": set(),
    "recognition": {"stats", "set_aside"},
    "detection": {"stats", "set_aside"},
    "verification": {"stats", "set_aside", "recognition", "scale"},
    "identification": {"stats", "set_aside", "recognition", "verification"},
    "report": {"stats", "set_aside", "recognition", "verification", "detection", "identification"},
}


def _imports(path: Path) -> set[str]:
    """Every ``unseen...`` module a file imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "unseen":
            found |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "unseen"}
    return found


def _part(module: str, depth: int) -> str:
    """The package (depth 1) or audit sub-package (depth 2) a module lies in; "unseen" for
    the package's own top (``__version__``, a package's ``__init__``)."""
    parts = module.split(".")
    return parts[depth] if len(parts) > depth and not parts[depth].startswith("__") else "unseen"


MODULES = sorted(SOURCE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_module_reaches_up(path):
    relative = path.relative_to(SOURCE).with_suffix("").parts
    package = relative[0]
    for module in _imports(path):
        target = _part(module, 1)
        if target != package:
            assert target in ALLOWED[package], f"{path.relative_to(SOURCE)} imports {module}"
        elif package == "audit" and len(relative) > 1 and relative[1] != "__init__":
            here, there = relative[1], _part(module, 2)
            if there not in (here, "unseen"):
                assert there in AUDIT_ALLOWED[here], f"{path.relative_to(SOURCE)} imports {module}"

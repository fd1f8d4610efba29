"""The layering in README.md's "Architecture", checked on the source: no import runs upward, no
router imports another, and no module outgrows what one reader can hold.

Layers, top to bottom: front doors (``api`` — HTTP and the dashboard —, and the CLI modules) →
services (``chainmatch.services``) → domain logic (the rest of ``chainmatch``) → entities and shared
types (``models``) → the engine (``recommender``). A module may import its own layer and those below it. Every import is
checked, including ones inside functions, because a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("api", "chainmatch", "models", "recommender")
# Entry points: the CLI is a front door beside the API (it may start the server by import string).
CLI_MODULES = ("chainmatch.cli", "chainmatch.demo")
RANK = {"front": 4, "service": 3, "domain": 2, "models": 1, "engine": 0}
MAX_LINES = 400


@dataclass(frozen=True, slots=True)
class Import:
    importer: str
    imported: str
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def is_cli(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in CLI_MODULES) or (
        module.startswith("chainmatch.") and module.rsplit(".", 1)[-1] in ("cli", "__main__")
    )


def layer(module: str) -> str | None:
    top = module.split(".", 1)[0]
    if top == "api" or is_cli(module):
        return "front"
    if module == "chainmatch.services" or module.startswith("chainmatch.services."):
        return "service"
    return {"chainmatch": "domain", "models": "models", "recommender": "engine"}.get(top)


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts)


def imports_of(path: Path) -> list[Import]:
    importer = module_name(path)
    package = importer if path.name == "__init__.py" else importer.rsplit(".", 1)[0]
    found: list[Import] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [Import(importer, a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importer's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append(Import(importer, target, node.lineno))
            # `from pkg import module` imports a module too: check the most specific name
            found += [Import(importer, f"{target}.{a.name}", node.lineno) for a in node.names]
    return [i for i in found if i.imported.split(".", 1)[0] in PACKAGES]


def upward(i: Import) -> bool:
    src, dst = layer(i.importer), layer(i.imported)
    if src is None or dst is None:
        return False
    if dst == "front" and src == "front":
        return False
    return RANK[dst] > RANK[src]


def module_path(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def is_router(module: str) -> bool:
    """A module that defines routes (an ``APIRouter``), wherever it lives under ``api``."""
    path = module_path(module) if module.startswith("api.") else None
    return (
        path is not None and path.name != "__init__.py" and "APIRouter(" in path.read_text(encoding="utf-8")
    )


def router_to_router(i: Import) -> bool:
    return i.importer != i.imported and is_router(i.importer) and is_router(i.imported)


ALL_IMPORTS = [i for p in source_files() for i in imports_of(p)]


def test_the_checker_sees_the_code() -> None:
    # A checker that found no imports would pass everything.
    assert len(ALL_IMPORTS) > 500
    assert layer("api.routers.match") == "front"
    assert layer("chainmatch.cli") == "front"
    assert layer("chainmatch.indexing") == "domain"
    assert layer("chainmatch.services.chains") == "service"
    assert upward(Import("chainmatch.matchmaking", "chainmatch.services.regions", 1))
    assert upward(Import("models.firm", "chainmatch.settings", 1))
    assert upward(Import("recommender.engine", "models.firm", 1))
    assert not upward(Import("api.main", "recommender.engine", 1))
    assert is_router("api.routers.match") and not is_router("api.deps")


def test_no_import_runs_upward() -> None:
    bad = [f"{i.importer}:{i.line} imports {i.imported}" for i in ALL_IMPORTS if upward(i)]
    assert not bad, "imports that run upward (see README 'Architecture'):\n" + "\n".join(sorted(set(bad)))


def test_no_router_imports_another() -> None:
    bad = [f"{i.importer}:{i.line} imports {i.imported}" for i in ALL_IMPORTS if router_to_router(i)]
    assert not bad, "a router importing another (shared helpers belong below the routers):\n" + "\n".join(
        sorted(set(bad))
    )


def test_modules_fit_one_reader() -> None:
    sizes = {p: len(p.read_text(encoding="utf-8").splitlines()) for p in source_files()}
    big = [f"{p.relative_to(ROOT)}: {n} lines" for p, n in sorted(sizes.items()) if n > MAX_LINES]
    assert not big, f"modules over {MAX_LINES} lines (split them):\n" + "\n".join(big)

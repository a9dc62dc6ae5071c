"""The package's imports run one way: runtime helpers and layers below models, models below
tasks and the training loop; nothing below the loop imports it."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnnbook"


def imported_modules(path: Path, where: Path | None = None) -> set[str]:
    """The rnnbook modules a file imports, as dotted names relative to the package (``where``:
    the file's place in the package, when it is read from elsewhere)."""
    parts = (where or path.relative_to(PACKAGE)).with_suffix("").parts
    package = parts[:-1] if parts[-1] != "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - (node.level - 1)]
            mod = ".".join(base + tuple((node.module or "").split("."))).strip(".")
            found.add(mod)
            found.update(f"{mod}.{a.name}".strip(".") for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rnnbook"):
            found.add(node.module.removeprefix("rnnbook").strip("."))
    return found


def below(folder: str):
    return sorted((PACKAGE / folder).rglob("*.py")) if (PACKAGE / folder).is_dir() \
        else [PACKAGE / f"{folder}.py"]


@pytest.mark.parametrize("path", [p for f in ("layers", "models", "runtime", "history",
                                              "checkpoint", "evaluation", "batching")
                                  for p in below(f)],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_nothing_below_the_loop_imports_it_or_a_task(path):
    bad = sorted(m for m in imported_modules(path)
                 if m == "train" or m.startswith("train.") or m == "tasks"
                 or m.startswith("tasks."))
    assert not bad, f"{path.relative_to(PACKAGE)} imports {bad}"


def test_the_layout_check_sees_an_import_of_the_loop(tmp_path):
    fake = PACKAGE / "layers" / "gates.py"
    assert "runtime" in imported_modules(fake)        # gates takes eval_mode from runtime
    text = fake.read_text(encoding="utf-8").replace("from ..runtime import", "from ..train import")
    copy = tmp_path / "gates.py"
    copy.write_text(text, encoding="utf-8")
    assert "train" in imported_modules(copy, where=Path("layers/gates.py"))


@pytest.mark.parametrize("name", ["diagrams", "cost"])
def test_the_diagrams_and_the_cost_model_import_no_task(name):
    bad = sorted(m for m in imported_modules(PACKAGE / f"{name}.py")
                 if m == "tasks" or m.startswith("tasks."))
    assert not bad, f"{name}.py imports {bad}"


def test_evaluation_sits_on_the_runtime_alone():
    """outputs/evaluate are below every task and model: they import the runtime only."""
    assert {m.split(".")[0] for m in imported_modules(PACKAGE / "evaluation.py")} == {"runtime"}

"""The package installed as a user installs it: the wheel holds every module, config and sample article, and
`newsstance` runs from an empty folder, writing there; an editable install (what `make` does) still runs
from the checkout and writes into it.

Each install goes into a fresh virtual environment that reuses this one's installed dependencies through
a .pth file, so nothing is downloaded; the package itself goes in with --no-deps.
"""

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PROJECT = Path(__file__).resolve().parents[1]
# What a build reads: the rest of the checkout (tests, experiments, outputs) is not part of the package.
BUILD_INPUTS = ("pyproject.toml", "README.md", "pipeline", "conf", "data/sample")
JOB = ["summarizer=lead3", "~faithfulness", "stages=[summarize]", "data.limit=2"]


def copy_checkout(destination: Path) -> Path:
    for name in BUILD_INPUTS:
        source, target = PROJECT / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target)
    return destination


def venv_with_current_dependencies(folder: Path) -> Path:
    """A new virtual environment whose Python also sees this one's packages; its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    Path(site, "current_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return folder / "bin"


def pip_install(bin_dir: Path, *arguments: str) -> None:
    """`pip install --no-deps ...` into the environment of `bin_dir`, with this environment's pip."""
    command = [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "-q", "--no-deps"]
    subprocess.run([*command, *arguments], check=True, timeout=600)


def run_newsstance(bin_dir: Path, folder: Path) -> subprocess.CompletedProcess[str]:
    folder.mkdir(parents=True, exist_ok=True)
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("MLFLOW_TRACKING_URI", "NEWSSTANCE_ROOT", "PYTHONPATH")
    }
    return subprocess.run(
        [str(bin_dir / "newsstance"), *JOB],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def sample_ids(count: int) -> list[str]:
    lines = (PROJECT / "data" / "sample" / "articles.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["id"] for line in lines[:count]]


@pytest.mark.slow
def test_the_wheel_installs_and_runs_from_an_empty_folder(tmp_path: Path) -> None:
    source = copy_checkout(tmp_path / "checkout")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(source)],
        check=True, timeout=600,
    )  # fmt: skip
    [wheel] = (tmp_path / "dist").glob("newsstance-*.whl")
    packaged = set(zipfile.ZipFile(wheel).namelist())
    needed = {
        f"pipeline/{path.relative_to(source / 'pipeline')}" for path in (source / "pipeline").rglob("*.py")
    }
    needed |= {
        f"pipeline/conf/{path.relative_to(source / 'conf')}" for path in (source / "conf").rglob("*.yaml")
    }
    needed |= {"pipeline/sample/articles.jsonl", "pipeline/templates/report.html.j2"}
    assert not needed - packaged, "pyproject.toml's package list misses these"

    bin_dir = venv_with_current_dependencies(tmp_path / "venv")
    pip_install(bin_dir, str(wheel))
    shutil.rmtree(source)  # the installed package must need nothing from a checkout
    empty = tmp_path / "anywhere"
    result = run_newsstance(bin_dir, empty)
    assert result.returncode == 0, result.stderr[-3000:]

    [predictions] = empty.glob("outputs/*/predictions.jsonl")
    records = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [record["id"] for record in records] == sample_ids(2)  # the sample articles it carries
    assert all(record["summary"] for record in records)
    assert (empty / "mlflow.db").is_file() and str(empty / "outputs") in result.stdout
    assert not (PROJECT / "outputs" / predictions.parent.name).exists()


@pytest.mark.slow
def test_an_editable_install_runs_from_the_checkout_and_writes_into_it(tmp_path: Path) -> None:
    checkout = copy_checkout(tmp_path / "checkout")
    bin_dir = venv_with_current_dependencies(tmp_path / "venv")
    pip_install(bin_dir, "--no-build-isolation", "-e", str(checkout))
    elsewhere = tmp_path / "elsewhere"
    result = run_newsstance(bin_dir, elsewhere)
    assert result.returncode == 0, result.stderr[-3000:]

    [predictions] = checkout.glob("outputs/*/predictions.jsonl")
    assert [json.loads(line)["id"] for line in predictions.read_text().splitlines()] == sample_ids(2)
    assert (checkout / "mlflow.db").is_file() and list(elsewhere.iterdir()) == []


def test_every_imported_package_is_declared_with_a_range_this_environment_meets() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [
        *project["dependencies"],
        *(line for extra in project["optional-dependencies"].values() for line in extra),
    ]
    declared = {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}
    imported = set()
    for path in (PROJECT / "pipeline").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    distributions = metadata.packages_distributions()
    third_party = sorted(imported - set(sys.stdlib_module_names) - {"pipeline"})
    undeclared = [
        module
        for module in third_party
        if not {canonicalize_name(name) for name in distributions.get(module, [module])} & set(declared)
    ]
    assert not undeclared, "imported by pipeline/ but not in pyproject.toml"
    unmet = [str(r) for name, r in declared.items() if metadata.version(name) not in r.specifier]
    assert not unmet, "this environment does not meet these ranges"

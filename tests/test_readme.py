"""Every pipeline command README.md shows composes with the real config, so an example cannot rot.

A command is a line of a code block, or an inline code span, that starts `python -m pipeline`,
`newsstance`, `make run` or `make infer`. A `make` command is turned into the `python -m pipeline` line
its Makefile recipe runs. Placeholders (`<nodes x cores>`, a bare `...`) stand for a value the reader
fills in; a sweep (`-m a=x,y`) composes once per combination.
"""

import itertools
import re
import shlex
from pathlib import Path

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException

from tests.conftest import ComposeConfig

PROJECT = Path(__file__).resolve().parents[1]
COMMAND = re.compile(r"^(?:\.venv/bin/)?(?:python -m pipeline|newsstance|make (?:run|infer))(?:\s|$)")
FENCED_BLOCK = re.compile(r"^\s*```[^\n]*\n(.*?)^\s*```", re.M | re.S)
PLACEHOLDER = re.compile(r"<[^<>]*>")


def readme_commands(text: str) -> list[str]:
    """The commands in `text`'s code blocks (line by line) and inline code spans (which may wrap)."""
    lines = [line.strip() for block in FENCED_BLOCK.findall(text) for line in block.splitlines()]
    spans = [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", FENCED_BLOCK.sub("", text))]
    return [command for command in lines + spans if COMMAND.match(command)]


def make_recipe_words(target: str, settings: dict[str, str]) -> list[str]:
    """The words of the `python -m pipeline` line that `make <target> NAME=value ...` runs."""
    makefile = (PROJECT / "Makefile").read_text(encoding="utf-8")
    block = re.search(rf"^{target}:.*?\n(?:\t.*\n)+", makefile, re.M)
    assert block, f"no target {target} in the Makefile"
    [recipe] = [line for line in block.group(0).splitlines() if "-m pipeline" in line]
    recipe = re.sub(r"\$\(abspath \$\((\w+)\)\)", r"$(\1)", recipe)
    return shlex.split(re.sub(r"\$\((\w+)\)", lambda name: settings.get(name.group(1), ""), recipe))


def pipeline_arguments(command: str) -> list[str]:
    """The arguments `python -m pipeline` gets from a README command, placeholders filled in."""
    words = shlex.split(PLACEHOLDER.sub("1", command), comments=True)
    if words[0] == "make":
        settings = dict(word.split("=", 1) for word in words[2:] if "=" in word)
        words = make_recipe_words(
            words[1], {**settings, "ARGS": " ".join(shlex.split(settings.get("ARGS", "")))}
        )
    start = words.index("pipeline") + 1 if "pipeline" in words else 1
    return [word for word in words[start:] if word != "..."]


def compositions(arguments: list[str]) -> list[list[str]]:
    """The override lists a command composes: one, or one per combination of a sweep's values."""
    sweep = bool({"-m", "--multirun"} & set(arguments))
    overrides = [word for word in arguments if word not in ("-m", "--multirun")]
    if not sweep:
        return [overrides]
    choices = [
        [f"{o.get_key_element()}={value}" for value in o.sweep_string_iterator()]
        if o.is_sweep_override()
        else [o.input_line]
        for o in OverridesParser.create().parse_overrides(overrides)
    ]
    return [list(combination) for combination in itertools.product(*choices)]


README_COMMANDS = readme_commands((PROJECT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_shows_the_commands_this_test_checks() -> None:
    starts = {COMMAND.match(command).group(0).strip() for command in README_COMMANDS}
    assert {"python -m pipeline", "newsstance", "make run", "make infer"} <= starts
    assert len(README_COMMANDS) >= 12


@pytest.mark.parametrize("command", README_COMMANDS)
def test_a_readme_command_composes(command: str, compose_config: ComposeConfig) -> None:
    for overrides in compositions(pipeline_arguments(command)):
        compose_config(*overrides)


def test_a_command_that_does_not_compose_is_caught(compose_config: ComposeConfig) -> None:
    # What README once showed: lead3 has no max_new_tokens.
    arguments = pipeline_arguments("python -m pipeline summarizer=lead3 summarizer.max_new_tokens=96")
    with pytest.raises(ConfigCompositionException, match=r"summarizer\.max_new_tokens"):
        compose_config(*arguments)


def test_make_commands_become_the_line_their_recipe_runs() -> None:
    assert pipeline_arguments('make run ARGS="summarizer=lead3 data.limit=5"') == [
        "summarizer=lead3",
        "data.limit=5",
    ]
    assert pipeline_arguments("make infer INPUT=in.jsonl OUT=out ARGS=device=cpu") == [
        "data=file", "data.path=in.jsonl", "paths.output_dir=out", "device=cpu",
    ]  # fmt: skip
    assert compositions(pipeline_arguments("python -m pipeline -m stance=trained,embedding seed=1")) == [
        ["stance=trained", "seed=1"],
        ["stance=embedding", "seed=1"],
    ]

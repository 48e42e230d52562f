"""Stage selection and construction from the composed config."""

import pytest

from pipeline.stages import ActorsStage, StanceStage, SummarizeStage, build_stages, selected_stages
from tests.conftest import ComposeConfig


def test_stages_run_in_declared_order_and_their_needs_are_checked(compose_config: ComposeConfig) -> None:
    assert selected_stages(compose_config("stages=[stance,actors]")) == ["actors", "stance"]
    with pytest.raises(ValueError, match="unknown stage"):
        selected_stages(compose_config("stages=[summarise]"))
    with pytest.raises(ValueError, match=r"stage 'stance' needs stage\(s\) \['actors'\]"):
        selected_stages(compose_config("stages=[summarize,stance]"))


def test_stages_are_built_by_target_with_their_backends(compose_config: ComposeConfig) -> None:
    summarize, actors, stance = build_stages(
        compose_config("summarizer=lead3", "~faithfulness", "stance=embedding", "summarize_batch_size=3")
    )
    assert isinstance(summarize, SummarizeStage) and summarize.batch_size == 3
    assert summarize.columns() == ["summary", "summary_chunks", "summary_read_sentences", "summary_repairs"]
    assert summarize.params()["summarizer_resolved"]["backend"] == "lead"
    assert isinstance(actors, ActorsStage) and actors.columns() == ["actors"]
    assert isinstance(stance, StanceStage) and stance.params()["stance_resolved"]["backend"] == "embedding"

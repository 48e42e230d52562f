"""Evidence: quotes, transcript turns and sentences attributed to their actor."""

from tests.actors.conftest import by_name, names


def test_quote_running_over_two_paragraphs_belongs_to_its_speaker(extractor):
    text = (
        'Foreign Minister Elena Marsh said: "We will defend every inch of our territory.\n\n'
        '"But we are ready to negotiate with our neighbours tomorrow."\n\n'
        "The ministry did not say where the talks would be held."
    )
    marsh = by_name(extractor.extract(text), "Elena Marsh")
    assert "But we are ready to negotiate with our neighbours tomorrow." in marsh.evidence
    assert "We will defend every inch of our territory." in marsh.evidence


def test_a_quote_of_several_sentences_is_evidence_sentence_by_sentence(extractor):
    text = (
        '"We have stopped the shelling. We want a settlement and we are ready to talk. But if they attack '
        'our villages again, we will answer," said Omar Said Tahir, a rebel commander.'
    )
    tahir = by_name(extractor.extract(text), "Omar Said Tahir")
    assert "We have stopped the shelling." in tahir.evidence
    assert "We want a settlement and we are ready to talk." in tahir.evidence
    assert "But if they attack our villages again, we will answer" in tahir.evidence


def test_a_statement_attributable_to_a_spokesperson_is_theirs(extractor):
    text = (
        "Office of the Spokesperson\n\n"
        "The following is attributable to Spokesperson Clara Voss:\n\n"
        "Secretary Holm met Foreign Minister Adeyemi of Nigeria today in Lagos. "
        "We look forward to deeper trade ties with Nigeria in the coming year."
    )
    actors = extractor.extract(text)
    voss = by_name(actors, "Clara Voss")
    assert "We look forward to deeper trade ties with Nigeria in the coming year." in voss.evidence
    # The statement's narration still counts: Holm acts in it.
    assert any("met Foreign Minister" in evidence for evidence in by_name(actors, "Holm").evidence)
    assert "Office of the Spokesperson" in names(actors)  # the heading's name without the blank line


def test_quote_after_its_speaker_and_pronoun_continuation(extractor):
    text = (
        '"The sanctions must be lifted before any talks," said Peter Lindqvist, a spokesman for the alliance.\n\n'
        "He added that the alliance would not send troops."
    )
    lindqvist = by_name(extractor.extract(text), "Peter Lindqvist")
    assert lindqvist.evidence[0].startswith('"The sanctions must be lifted before any talks," said Peter')
    assert any("would not send troops" in evidence for evidence in lindqvist.evidence)


def test_transcript_turns_give_the_speaker_evidence_and_skip_reporters(extractor):
    text = (
        "PRESIDENT HALVORSEN: Thank you all for coming to Oslo today.\n\n"
        "We stand with our allies and we will keep supporting them.\n\n"
        "Q Mr. President, will you send troops to the region?\n\n"
        "PRESIDENT HALVORSEN: We have no plans to do that right now."
    )
    actors = extractor.extract(text)
    speaker = by_name(actors, "Halvorsen")
    assert "PRESIDENT HALVORSEN" in speaker.aliases
    assert "We stand with our allies and we will keep supporting them." in speaker.evidence
    assert "We have no plans to do that right now." in speaker.evidence
    assert not any("send troops" in evidence for actor in actors for evidence in actor.evidence)
    assert "Q" not in names(actors)


def test_another_speakers_quote_is_not_evidence_of_an_actor_in_the_same_sentence(extractor):
    text = (
        '"We will never give the land back to them," said Omar Haddad, the militia leader, while the '
        'United Nations envoy, Petra Lind, said, "We call on both sides to return to the talks."'
    )
    lind = by_name(extractor.extract(text), "Petra Lind")
    assert lind.evidence
    assert not any("give the land back" in evidence for evidence in lind.evidence)
    assert any("return to the talks" in evidence for evidence in lind.evidence)


def test_a_quote_belongs_to_the_speech_verb_of_its_own_sentence(extractor):
    text = (
        'The envoy, Rana Aziz, concurred by saying, "There was no secret deal between the two governments '
        'at all." Norway itself has denied any deal with the rebels.'
    )
    actors = extractor.extract(text)
    assert any("no secret deal" in evidence for evidence in by_name(actors, "Rana Aziz").evidence)
    assert not any("no secret deal" in evidence for evidence in by_name(actors, "Norway").evidence)


def test_a_quote_paragraph_belongs_to_the_bare_attribution_after_it(extractor):
    text = (
        '"China and the United States face common challenges. We should increase mutual trust."\n\n'
        "Assistant Foreign Minister Zheng Zeguang said this on Monday."
    )
    actors = extractor.extract(text)
    zheng = by_name(actors, "Zheng Zeguang")
    assert "We should increase mutual trust." in zheng.evidence
    assert by_name(actors, "China").evidence == []  # named inside his quote, not acting


def test_a_quote_paragraph_belongs_to_a_speech_verb_after_it_that_points_back(extractor):
    text = (
        '"We should increase mutual trust and cooperation in cyberspace."\n\n'
        "Assistant Foreign Minister Zheng Zeguang said this on Monday, adding that China was resolutely "
        "opposed to any statements or actions that harm its interests.\n\n"
        '"Sanctions are on the table."\n\n'
        "Officials in Washington said that the talks were going well and that they expected a deal soon."
    )
    actors = extractor.extract(text)
    assert (
        "We should increase mutual trust and cooperation in cyberspace."
        in by_name(actors, "Zheng Zeguang").evidence
    )
    # A speech verb with its own clause says something new; it does not claim the quote before it.
    assert not any("Sanctions" in e for actor in actors for e in actor.evidence)

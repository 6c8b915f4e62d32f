"""Unit tests of the TTS text stage: normalization for speech and the streaming splitter.

Every expected output here is derived without the code under test: the tables are
written by hand as a reader would say (or a writer spell out) the input, numbers
are checked against num2words, and the cuts of the splitter against properties
that hold for any text (no word is split, nothing is lost, no piece is over its
limit unless it is one word, a cut takes the last clause mark within the limit).
"""

from __future__ import annotations

import itertools
import random
import re

import pytest
from num2words import num2words

from june.tts.text import SentenceSplitter, normalize_for_speech, split_sentences

# --- normalize_for_speech -------------------------------------------------------------

NORMALIZE_EN = [
    # cardinals, decimals, negatives, ordinals, percentages
    ("42", "forty-two"),
    ("1,234", "one thousand two hundred thirty-four"),
    (
        "In 2020, I had 2,500,000 users",
        "In twenty twenty, I had two million five hundred thousand users",
    ),
    ("I have 1500 apples", "I have one thousand five hundred apples"),
    ("Pi is 3.14", "Pi is three point one four"),
    (".5 liters", "point five liters"),
    ("It dropped to -5 today", "It dropped to minus five today"),
    ("the 1st and 22nd", "the first and twenty-second"),
    ("15%", "fifteen percent"),
    ("It rose 3.5%", "It rose three point five percent"),
    ("3/4 cup", "three quarters cup"),
    ("24/7 support", "twenty-four seven support"),
    ("pages 10-20", "pages ten to twenty"),
    # years
    ("in 1999", "in nineteen ninety-nine"),
    ("since 2024", "since twenty twenty-four"),
    ("2005", "two thousand five"),
    ("in the 1990s", "in the nineteen nineties"),
    ("1990-1995", "nineteen ninety to nineteen ninety-five"),
    ("founded 1150 AD", "founded eleven fifty AD"),
    # digit strings: phones, versions, IPs
    ("Call 555-123-4567", "Call five five five, one two three, four five six seven"),
    ("Call +1 555 123 4567", "Call plus one, five five five, one two three, four five six seven"),
    ("Order 0123456 now", "Order zero one two three four five six now"),
    ("Python 3.11.7 is out", "Python three point eleven point seven is out"),
    ("Get v2.0 now", "Get version two point zero now"),
    ("Ping 192.168.1.1", "Ping one hundred ninety-two dot one hundred sixty-eight dot one dot one"),
    # money
    ("$5", "five dollars"),
    ("$1", "one dollar"),
    ("$1.50", "one dollar and fifty cents"),
    ("$0.99", "ninety-nine cents"),
    ("$5.00", "five dollars"),
    ("\u20ac20", "twenty euros"),
    ("\u00a33.99", "three pounds and ninety-nine pence"),
    ("\u00a51000", "one thousand yen"),
    ("$1.2 million", "one point two million dollars"),
    ("It made $12.3bn", "It made twelve point three billion dollars"),
    ("5 USD", "five dollars"),
    ("USD 20", "twenty dollars"),
    ("5\u20ac", "five euros"),
    ("-$5", "minus five dollars"),
    # dates and times
    ("2024-03-15", "March fifteenth, twenty twenty-four"),
    ("March 15, 2024", "March fifteenth, twenty twenty-four"),
    ("4 July 2024", "the fourth of July, twenty twenty-four"),
    ("Jan. 5", "January fifth"),
    ("15/03/2024", "March fifteenth, twenty twenty-four"),
    ("10:30", "ten thirty"),
    ("9:05 am", "nine oh five a m"),
    ("14:00", "two p m"),
    ("14:30", "two thirty p m"),
    ("12:00", "twelve o'clock"),
    ("00:15", "twelve fifteen a m"),
    ("10:00 am", "ten a m"),
    ("at 5 pm", "at five p m"),
    ("It was 9 a.m. Then we ate.", "It was nine a m. Then we ate."),
    # abbreviations
    ("Dr. Smith is here", "Doctor Smith is here"),
    ("Mr. and Mrs. Smith", "Mister and Missus Smith"),
    ("Ms. Lee", "Miz Lee"),
    ("St. Louis", "Saint Louis"),
    ("I live on Baker St.", "I live on Baker Street."),
    ("Fruit, e.g. apples", "Fruit, for example, apples"),
    ("Fruit, i.e. food", "Fruit, that is, food"),
    ("Apples, pears, etc. Then we left", "Apples, pears, et cetera. Then we left"),
    ("Apples, pears, etc. and more", "Apples, pears, et cetera and more"),
    ("Cats vs. dogs", "Cats versus dogs"),
    ("approx. 5 kg", "approximately five kilograms"),
    ("No. 5 is mine", "Number five is mine"),  # the writer's capital stays
    ("It is item no. 5", "It is item number five"),
    ("See Fig. 3", "See Figure three"),
    ("John Smith Jr. arrived", "John Smith Junior arrived"),
    ("the U.S. economy", "the U S economy"),
    ("Coffee w/o sugar", "Coffee without sugar"),
    # units
    ("20\u00b0C", "twenty degrees Celsius"),
    ("-3 \u00b0F", "minus three degrees Fahrenheit"),
    ("1 \u00b0C", "one degree Celsius"),
    ("Turn 90\u00b0 left", "Turn ninety degrees left"),
    # a measure before its noun is an adjective: singular, and hyphenated when
    # the number and the unit are one word each, as a writer would spell it
    ("A 90\u00b0 turn", "A ninety-degree turn"),
    ("It was a 5 km run.", "It was a five-kilometer run."),
    ("an 8 GB card", "an eight-gigabyte card"),
    ("a 200 m dash", "a two hundred meter dash"),
    ("a 1.5 km walk", "a one point five kilometer walk"),
    ("A 20\u00b0C day", "A twenty degree Celsius day"),
    ("a 5 km or so", "a five kilometers or so"),
    ("100 km/h", "one hundred kilometers per hour"),
    ("1 km", "one kilometer"),
    ("1.5 km", "one point five kilometers"),
    ("I weigh 70kg", "I weigh seventy kilograms"),
    ("2x faster", "two times faster"),
    ("~5 km", "about five kilometers"),
    # symbols
    ("Tom & Jerry", "Tom and Jerry"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("5 - 3", "five minus three"),
    ("We're #1", "We're number one"),
    ("Ask @june", "Ask at june"),
    ("I love #python", "I love python"),
    # URLs and e-mail
    ("https://www.example.com/path?x=1", "example dot com"),
    ("See https://docs.python.org/3/library/re.html.", "See docs dot python dot org."),
    ("Visit www.python.org/downloads now", "Visit python dot org now"),
    ("Go to example.org.", "Go to example dot org."),
    ("Mail jane.doe@example.org", "Mail jane dot doe at example dot org"),
    ("Mail first_last+tag@mail.co.uk", "Mail first underscore last plus tag at mail dot co dot uk"),
    # emoji
    ("Great job \U0001f389\U0001f389!", "Great job!"),
    ("Hi \U0001f44b\U0001f3fd there", "Hi there"),
    ("family \U0001f468\u200d\U0001f469\u200d\U0001f467 time", "family time"),
    ("\U0001f600\U0001f680\u2728", ""),
    ("", ""),
    ("   \n  ", ""),
    # markdown
    ("**bold** and _italic_", "bold and italic"),
    ("# Hello", "Hello."),
    ("## Is it done?", "Is it done?"),
    ("Run `pip install june` now", "Run pip install june now"),
    ("Read [the docs](https://example.com/docs) first", "Read the docs first"),
    ("Look ![a cat](cat.png) here", "Look here"),
    ("**half bold, cut for latency", "half bold, cut for latency"),
    ("Set max_chars to 200", "Set max chars to two hundred"),
    ("> A wise quote", "A wise quote"),
    ("- one\n- two\n- three", "one. two. three."),
    ("1. First\n2. Second", "First. Second."),
    ("Intro\n\n---\n\nOutro", "Intro. Outro"),
    ("```python\nprint('hi')\n```", "Code omitted."),
    ("| Name | Age |\n|---|---|\n| Ann | 31 |", "Name, Age. Ann, thirty-one."),
    ("| Ann | 31 |", "Ann, thirty-one."),
    ("|---|---|", ""),
]

MARKDOWN_DOC = """## Summary \U0001f389
Here are the **key** points:

1. Visit [our site](https://example.com/docs) for details
2. Install with `pip install june`
- Costs $5 per month \U0001f4b0

> Quoted *wisdom*

| Name | Age |
|------|-----|
| Ann  | 31  |

---
```python
print("hi")
```
![diagram](x.png)
Done!"""

MARKDOWN_SPOKEN = (
    "Summary. Here are the key points: Visit our site for details. Install with pip "
    "install june. Costs five dollars per month. Quoted wisdom. Name, Age. Ann, thirty-one. "
    "Code omitted. Done!"
)

NORMALIZE_OTHER_LANGUAGES = [
    (
        "Das kostet 5 Euro \U0001f389 \u2014 siehe **https://www.beispiel.de/x** "
        "oder schreib an max@beispiel.de",
        "de_DE",
        "Das kostet 5 Euro \u2014 siehe beispiel Punkt de oder schreib an max at beispiel Punkt de",
    ),
    ("Il est 10:30, **vite**\u202f! \U0001f680", "fr", "Il est 10:30, vite!"),
    (
        "\u041f\u0440\u0438\u0432\u0435\u0442 \U0001f600 # 42",
        "ru",
        "\u041f\u0440\u0438\u0432\u0435\u0442 42",
    ),
    ("## \u4f60\u597d \U0001f44b\n\u4e16\u754c 2024", "zh", "\u4f60\u597d\u3002 \u4e16\u754c 2024"),
    ("Mr. Dr. 3.14 $5 https://x.org/a", "xx", "Mr. Dr. 3.14 $5 x.org"),
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_EN)
def test_normalize_english(text: str, expected: str) -> None:
    assert normalize_for_speech(text) == expected


@pytest.mark.parametrize(("text", "language", "expected"), NORMALIZE_OTHER_LANGUAGES)
def test_normalize_other_languages_only_markdown_emoji_urls(
    text: str, language: str, expected: str
) -> None:
    assert normalize_for_speech(text, language) == expected


def test_normalize_markdown_document() -> None:
    assert normalize_for_speech(MARKDOWN_DOC) == MARKDOWN_SPOKEN
    assert normalize_for_speech(MARKDOWN_DOC, "en_US") == MARKDOWN_SPOKEN


def test_normalize_never_empty_for_words() -> None:
    for text, expected in NORMALIZE_EN:
        if any(ch.isalnum() for ch in text):
            assert expected and normalize_for_speech(text), text


def test_normalized_splitter_pieces_read_like_the_whole() -> None:
    """Splitting the raw stream first and normalizing each piece says the same words.

    Only the punctuation may differ: a piece that is a plain paragraph gets no
    period of its own, since it may be a clause cut for latency.
    """
    pieces = [normalize_for_speech(p) for p in split_sentences(MARKDOWN_DOC)]
    assert re.findall(r"[\w'-]+", " ".join(pieces)) == re.findall(r"[\w'-]+", MARKDOWN_SPOKEN)


# Numbers, checked against num2words rather than against this module's own output.
# The American reading drops num2words' British "and" and its commas:
# num2words(1234) is "one thousand, two hundred and thirty-four", said "one thousand
# two hundred thirty-four". Digits after a decimal point are read one by one.
DIGIT_NAMES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _american(words: str) -> str:
    return " ".join(w for w in words.replace(",", " ").split() if w != "and")


def _ordinal_suffix(n: int) -> str:
    if n % 100 in (11, 12, 13):
        return "th"
    return {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _sample_ints(seed: int, count: int = 40) -> list[int]:
    rng = random.Random(seed)
    edges = [0, 1, 9, 10, 11, 19, 20, 99, 100, 101, 999, 1000, 1001, 1100, 2099, 9999, 10**6]
    return edges + [rng.randrange(10 ** rng.randint(1, 9)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(3))
def test_cardinals_are_num2words(seed: int) -> None:
    for n in _sample_ints(seed):
        words = _american(num2words(n))
        assert normalize_for_speech(f"I have {n} apples") == f"I have {words} apples"
        assert normalize_for_speech(f"I have {n:,} apples") == f"I have {words} apples"
        assert normalize_for_speech(f"It fell to -{n} today") == f"It fell to minus {words} today"


@pytest.mark.parametrize("seed", range(3))
def test_ordinals_decimals_money_and_units_are_num2words(seed: int) -> None:
    rng = random.Random(seed)
    for n in _sample_ints(seed):
        words = _american(num2words(n))
        ordinal = _american(num2words(n, to="ordinal"))
        suffix = _ordinal_suffix(n)
        assert normalize_for_speech(f"the {n}{suffix} guest") == f"the {ordinal} guest"
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 4)))
        spoken_fraction = " ".join(DIGIT_NAMES[int(d)] for d in fraction)
        assert (
            normalize_for_speech(f"It is {n}.{fraction} long")
            == f"It is {words} point {spoken_fraction} long"
        )
        dollars = "dollar" if n == 1 else "dollars"
        assert normalize_for_speech(f"It costs ${n:,}") == f"It costs {words} {dollars}"
        km = "kilometer" if n == 1 else "kilometers"
        assert normalize_for_speech(f"It is {n} km away") == f"It is {words} {km} away"
        # as an adjective the unit is singular whatever the number
        joined = f"{words}-kilometer" if " " not in words else f"{words} kilometer"
        assert normalize_for_speech(f"It was a {n} km walk") == f"It was a {joined} walk"


# --- SentenceSplitter -----------------------------------------------------------------

LONG_FIRST = (
    "This is a rather long first sentence, which goes on and on without stopping "
    "for a very long time indeed."
)
LONG_LATER = (
    "This later sentence is long too, and it keeps going with many words; it should be cut "
    "at a clause boundary before two hundred characters, because that is the limit for "
    "sentences after the first one in the stream."
)

SPLIT_CASES: list[tuple[str, dict[str, int], list[str]]] = [
    ("Hello there. How are you? I am fine!", {}, ["Hello there.", "How are you?", "I am fine!"]),
    ("Hello", {}, ["Hello"]),
    ("", {}, []),
    ("   \n\n  ", {}, []),
    ("Yes. OK. Sure.", {}, ["Yes.", "OK.", "Sure."]),
    # abbreviations and initials
    (
        "Dr. Smith went to Washington. He met Mr. Jones.",
        {},
        ["Dr. Smith went to Washington.", "He met Mr. Jones."],
    ),
    (
        "Mrs. Brown lives on St. James St. in town.",
        {},
        ["Mrs. Brown lives on St. James St. in town."],
    ),
    ("Bring fruit, e.g. apples. Then go.", {}, ["Bring fruit, e.g. apples.", "Then go."]),
    ("Use a tool, i.e. a hammer.", {}, ["Use a tool, i.e. a hammer."]),
    ("Apples, pears, etc. The end.", {}, ["Apples, pears, etc.", "The end."]),
    ("Apples, pears, etc. and more.", {}, ["Apples, pears, etc. and more."]),
    ("Cats vs. Dogs is a game.", {}, ["Cats vs. Dogs is a game."]),
    ("J. R. R. Tolkien wrote it. Read it.", {}, ["J. R. R. Tolkien wrote it.", "Read it."]),
    ("The U.S. economy grew. Good.", {}, ["The U.S. economy grew.", "Good."]),
    (
        "Item no. 5 is here. No. That is wrong.",
        {},
        ["Item no. 5 is here.", "No.", "That is wrong."],
    ),
    ("It was 5 p.m. Then we left.", {}, ["It was 5 p.m.", "Then we left."]),
    ("So do I. Then we go.", {}, ["So do I.", "Then we go."]),
    # numbers and money
    ("Pi is 3.14 roughly. Nice.", {}, ["Pi is 3.14 roughly.", "Nice."]),
    ("It costs $1.50. That is cheap.", {}, ["It costs $1.50.", "That is cheap."]),
    ("Python 3.11.7 is out. Update.", {}, ["Python 3.11.7 is out.", "Update."]),
    ("See example.com. Then go.", {}, ["See example.com.", "Then go."]),
    ("I counted to 3. Then stopped.", {}, ["I counted to 3.", "Then stopped."]),
    # ellipses
    ("Well... I think so. Wait... What?", {}, ["Well... I think so.", "Wait...", "What?"]),
    ("Hmm\u2026 maybe. Sure\u2026 Fine.", {}, ["Hmm\u2026 maybe.", "Sure\u2026", "Fine."]),
    # quotes and brackets
    ('He said "Stop." Then he left.', {}, ['He said "Stop."', "Then he left."]),
    ('"Stop!" she said. Fine.', {}, ['"Stop!" she said.', "Fine."]),
    ("He said \u201cGo.\u201d We went.", {}, ["He said \u201cGo.\u201d", "We went."]),
    ("(This is it.) Next one.", {}, ["(This is it.)", "Next one."]),
    ("Really?! Yes.", {}, ["Really?!", "Yes."]),
    # newlines, markdown
    ("Intro:\n- one\n- two\n\nOutro here", {}, ["Intro:", "- one", "- two", "Outro here"]),
    ("* a\n* b", {}, ["* a", "* b"]),
    ("1. First item\n2. Second item", {}, ["1. First item", "2. Second item"]),
    ("# Title\nSome text\nmore text.", {}, ["# Title", "Some text\nmore text."]),
    ("Para one\n\nPara two", {}, ["Para one", "Para two"]),
    ("A soft\nline break. Yes.", {}, ["A soft\nline break.", "Yes."]),
    ("Text\n---\nMore", {}, ["Text", "---", "More"]),
    (
        "| a | b |\n|---|---|\n| 1 | 2 |\nAfter.",
        {},
        ["| a | b |", "|---|---|", "| 1 | 2 |", "After."],
    ),
    (
        "Here:\n```python\nx = 1. y = 2\n\nprint(x)\n```\nDone.",
        {},
        ["Here:", "```python\nx = 1. y = 2\n\nprint(x)\n```", "Done."],
    ),
    ("Code:\n```\nunclosed. Yes", {}, ["Code:", "```\nunclosed. Yes"]),
    # CJK
    (
        "\u4f60\u597d\u3002\u6211\u662fJune\uff01\u4f60\u5462\uff1f",
        {},
        ["\u4f60\u597d\u3002", "\u6211\u662fJune\uff01", "\u4f60\u5462\uff1f"],
    ),
    (
        "\u300c\u597d\u3002\u300d\u8d70\u5427\u3002",
        {},
        ["\u300c\u597d\u3002\u300d", "\u8d70\u5427\u3002"],
    ),
    # long sentences: the first is cut earlier than later ones
    (
        LONG_FIRST,
        {},
        [
            "This is a rather long first sentence,",
            "which goes on and on without stopping for a very long time indeed.",
        ],
    ),
    (
        "Short. " + LONG_LATER,
        {},
        [
            "Short.",
            "This later sentence is long too, and it keeps going with many words; it should be "
            "cut at a clause boundary before two hundred characters,",
            "because that is the limit for sentences after the first one in the stream.",
        ],
    ),
    (
        "Short. " + LONG_FIRST,
        {},
        ["Short.", LONG_FIRST],
    ),
    (
        "one two three four five six seven eight nine ten eleven twelve",
        {"first_max_chars": 30},
        ["one two three four five six", "seven eight nine ten eleven twelve"],
    ),
    (
        "Sure, I can help you with this and that and the other thing today.",
        {"first_max_chars": 40},
        ["Sure, I can help you with this", "and that and the other thing today."],
    ),
    (
        "Yes, this is fine; indeed it is quite fine, really.",
        {"first_max_chars": 30},
        ["Yes, this is fine;", "indeed it is quite fine, really."],
    ),
    # the tts service's streaming settings: the first clause of a few words goes first
    (
        "Well, the answer, as I said, is 42. Then more, and more.",
        {"first_max_chars": 40, "first_clause_chars": 12},
        ["Well, the answer,", "as I said, is 42.", "Then more, and more."],
    ),
    # a 40-character cut falls between phrases, never inside one ("at the same | place")
    (
        "Oh, it is so nice to be back at the same place again.",
        {"first_max_chars": 40, "first_clause_chars": 12},
        ["Oh, it is so nice to be back", "at the same place again."],
    ),
    (
        "Oh, it is so nice to be back at the same place again.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["Oh, it is so nice to be back", "at the same place again."],
    ),
    (
        "I would love to tell you about the history of the old town.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["I would love to tell you", "about the history of the old town."],
    ),
    (
        "Yesterday my brother finally bought that shiny new bicycle.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["Yesterday my brother finally bought", "that shiny new bicycle."],
    ),
    (
        "The plan is simple \u2014 we leave at dawn and return by noon.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["The plan is simple \u2014", "we leave at dawn and return by noon."],
    ),
    (
        "We could take the train but the bus is cheaper for all of us.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["We could take the train", "but the bus is cheaper for all of us."],
    ),
    (
        "Here it is, and it works.",
        {"first_max_chars": 40, "first_clause_chars": 8},
        ["Here it is,", "and it works."],
    ),
    (
        "It costs 1,000 dollars, more or less.",
        {"first_max_chars": 40, "first_clause_chars": 12},
        ["It costs 1,000 dollars,", "more or less."],
    ),
    (
        "abcdefghijklmnopqrstuvwxyz tail",
        {"first_max_chars": 10},
        ["abcdefghijklmnopqrstuvwxyz", "tail"],
    ),
    (
        "\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u3002",
        {"first_max_chars": 6},
        ["\u4e00\u4e8c\u4e09\u56db\u4e94\u516d", "\u4e03\u516b\u4e5d\u5341\u3002"],
    ),
]


def _ids(case: tuple[str, dict[str, int], list[str]]) -> str:
    return repr(case[0][:40])


@pytest.mark.parametrize(("text", "options", "expected"), SPLIT_CASES, ids=map(_ids, SPLIT_CASES))
def test_split_sentences(text: str, options: dict[str, int], expected: list[str]) -> None:
    assert split_sentences(text, **options) == expected


@pytest.mark.parametrize("seed", range(6))
def test_streaming_in_random_deltas_gives_the_same_sentences(seed: int) -> None:
    rng = random.Random(seed)
    for text, options, expected in SPLIT_CASES:
        splitter = SentenceSplitter(**options)
        got: list[str] = []
        position = 0
        while position < len(text):
            size = rng.randint(1, 7)
            got += splitter.push(text[position : position + size])
            position += size
        got += splitter.flush()
        assert got == expected, text


# Properties of every cut, on random prose. Each text is made of words (some longer
# than any limit), numbers, clause marks and sentence ends, without line breaks.
VOCABULARY = re.findall(
    r"\S+",
    "I you we they it the a an my our this that to at in on for with from about of "
    "and but or so because which then is was have said went back same place time "
    "house garden river Monday Smith 3.14 1,000 42 Dr. e.g. etc. "
    "extraordinarily incomprehensibilities internationalization",
)
LONG_WORD = "Pneumonoultramicroscopicsilicovolcanoconiosis"
CLAUSE_END = re.compile(r"(?:[,;:]|\s[\u2014\u2013-])$")


def _random_text(rng: random.Random) -> str:
    words: list[str] = []
    for _ in range(rng.randint(1, 70)):
        word = LONG_WORD if rng.random() < 0.02 else rng.choice(VOCABULARY)
        mark = rng.random()
        if mark < 0.10:
            word += rng.choice(",,,;:")
        elif mark < 0.13:
            word += " \u2014"
        elif mark < 0.20 and word[-1] != ".":
            word += rng.choice("..?!")
        words.append(word)
    return " ".join(words)


def _random_options(rng: random.Random) -> dict[str, int]:
    return {
        "min_chars": rng.choice([0, 5, 12]),
        "max_chars": rng.choice([20, 40, 80, 200]),
        "first_max_chars": rng.choice([10, 25, 40, 60]),
        "first_clause_chars": rng.choice([0, 0, 8, 12]),
    }


def _spans(text: str, pieces: list[str]) -> list[tuple[int, int]]:
    """Where each piece lies in ``text``, checking that only whitespace is left out."""
    spans, position = [], 0
    for piece in pieces:
        start = text.index(piece, position)
        assert not text[position:start].strip(), (text[position:start], pieces)
        spans.append((start, start + len(piece)))
        position = start + len(piece)
    assert not text[position:].strip()
    return spans


@pytest.mark.parametrize("seed", range(8))
def test_cuts_keep_every_word_whole_and_within_the_limit(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        text, options = _random_text(rng), _random_options(rng)
        pieces = split_sentences(text, **options)
        spans = _spans(text, pieces)  # joined with the whitespace between, they are the text
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert text[end:start].isspace(), (text[end - 10 : start + 10], options)
        for index, piece in enumerate(pieces):
            limit = options["max_chars"] if index else options["first_max_chars"]
            assert len(piece) <= limit or " " not in piece, (piece, options)


@pytest.mark.parametrize("seed", range(8))
def test_a_cut_prefers_the_last_clause_mark_within_the_limit(seed: int) -> None:
    """A piece cut for length ends at its last ", " "; " ": " or " —" that leaves enough text."""
    rng = random.Random(seed)
    for _ in range(150):
        text, options = _random_text(rng), _random_options(rng)
        pieces = split_sentences(text, **options)
        spans = _spans(text, pieces)
        for index, (start, end) in enumerate(spans[:-1]):
            if pieces[index][-1] in ".?!" or (index == 0 and options["first_clause_chars"]):
                continue  # a sentence end, or a first clause cut early on purpose
            limit = options["max_chars"] if index else options["first_max_chars"]
            marks = [
                length
                for length in range(max(options["min_chars"], 1), limit + 1)
                if start + length < len(text)
                and text[start + length].isspace()
                and CLAUSE_END.search(text[start : start + length])
            ]
            if marks:
                assert end - start == max(marks), (pieces[index], options)


@pytest.mark.parametrize("seed", range(4))
def test_random_prose_streams_like_the_whole(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(60):
        text, options = _random_text(rng), _random_options(rng)
        splitter = SentenceSplitter(**options)
        got: list[str] = []
        position = 0
        while position < len(text):
            size = rng.randint(1, 9)
            got += splitter.push(text[position : position + size])
            position += size
        assert got + splitter.flush() == split_sentences(text, **options), (text, options)


def test_sentence_is_emitted_at_the_earliest_delta() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Hello there.") == []
    assert splitter.push(" How") == ["Hello there."]
    assert splitter.push(" are you?") == []
    assert splitter.push(" ") == ["How are you?"]
    assert splitter.push("Dr.") == []
    assert splitter.push(" Smith is in.") == []
    assert splitter.flush() == ["Dr. Smith is in."]


def test_lookahead_is_bounded_to_the_next_word() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("Apples, pears, etc. ") == []  # "etc." ends only before a capital
    assert splitter.push("T") == ["Apples, pears, etc."]
    assert splitter.push("hen 3.") == []
    assert splitter.push("14 is pi\n") == []  # a soft newline may continue the sentence
    assert splitter.push("- item") == ["Then 3.14 is pi"]
    assert splitter.push("\n") == ["- item"]  # a list item line ends at its newline


def test_first_clause_is_cut_as_soon_as_the_limit_is_passed() -> None:
    splitter = SentenceSplitter(first_max_chars=40)
    text = "Sure, I can help you with this and that and the other thing today."
    assert splitter.push(text[:40]) == []
    assert splitter.push(text[40]) == ["Sure, I can help you with this"]


def test_flush_resets_and_pieces_are_stripped() -> None:
    splitter = SentenceSplitter()
    assert splitter.push("  One.  \n\n  ") == ["One."]
    assert splitter.flush() == []
    assert splitter.push("Two") == []
    assert splitter.flush() == ["Two"]
    assert splitter.push("Three") == []  # a new stream starts with the first-sentence limit


def test_invalid_options_are_refused() -> None:
    with pytest.raises(ValueError):
        SentenceSplitter(max_chars=0)

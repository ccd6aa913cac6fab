"""Label lint: the parts of the labeling guide's "strategic label test" a program can judge.

Warnings, never blocking (docs/analysis.md, "Label lint"), each a ``code`` and a one-line
``message``:

- ``tail_marker``: a token, family or metadata value the name mentions is in < 30% of the
  feature's core (the name describes the tail, not the concept);
- ``token_names_only``: a ``tactical`` or ``strategic`` label whose name is only token, family
  or metadata names (and their abbreviations), connectors and filler words like "Kit";
- ``negation``: a name made of a negation ("Death-Averse ...", "Non-...", "No ...");
- ``strategic_no_notes``: a ``strategic`` label with empty notes;
- ``no_interpretability``: no interpretability confidence.

Also here: which coverage subject a label name mentions (:func:`mentioned_subject`), shared with
the app's form hint.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from labeler_tui.core.analysis.coverage import TAIL_BELOW, core_coverage
from labeler_tui.core.analysis.derived import memoized
from labeler_tui.core.data import ModelData
from labeler_tui.core.records import LabelRecord
from labeler_tui.core.results.labels import LintWarningJson

COVERAGE_VALUES_MAX = 500
"""Metadata columns with more distinct values than this are not matched in label names."""
NAMES_ONLY_CATEGORIES = ("tactical", "strategic")
FILLER_WORDS = frozenset(
    [
        "kit",
        "kits",
        "build",
        "builds",
        "detector",
        "detectors",
        "stacker",
        "stackers",
        "stacking",
        "stack",
        "combo",
        "combos",
        "set",
        "sets",
        "presence",
        "token",
        "tokens",
        "ability",
        "abilities",
        "user",
        "users",
        "feature",
        "threshold",
        "level",
        "levels",
        "ap",
        "high",
        "low",
        "heavy",
        "max",
        "min",
        "only",
        "mix",
        "mixed",
        "and",
        "or",
        "with",
        "plus",
    ]
)
"""Words that add nothing to a list of token names ("SSU + ISM Kit" is only token names)."""
NEGATION_WORDS = frozenset({"no", "non", "not", "without", "never", "anti"})
_NEGATION_SUFFIXES = ("averse", "aversion")


@dataclass(frozen=True)
class LintWarning:
    code: str
    message: str

    def to_json(self) -> LintWarningJson:
        return {"code": self.code, "message": self.message}


# --- what a name mentions --------------------------------------------------------------------
def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def mentioned_subject(name: str, subjects: list[tuple[str, str]]) -> str | None:
    """The coverage subject whose text the label name mentions, longest first (spaces and
    underscores alike: ``Swim speed up`` mentions the family ``swim_speed_up``)."""
    words = f"_{_words(name)}_"
    if len(words) < 5:
        return None
    best: tuple[int, str] | None = None
    for text, subject in subjects:
        key = _words(text)
        if len(key) >= 3 and f"_{key}_" in words and (best is None or len(key) > best[0]):
            best = (len(key), subject)
    return best[1] if best else None


def mentioned_subjects(
    name: str, subjects: list[tuple[str, str]], short: Collection[str] = ()
) -> list[str]:
    """Every coverage subject the name mentions, longest matches first and not overlapping one
    another (``Swim Speed Up 57`` mentions ``swim_speed_up_57``, not also its family). Texts
    under 3 characters count only when listed in ``short`` (abbreviations such as ``RP``)."""
    words = f"_{_words(name)}_"
    found: list[tuple[int, int, str]] = []
    for text, subject in subjects:
        key = _words(text)
        if not key or (len(key) < 3 and text not in short):
            continue
        start = words.find(f"_{key}_")
        while start >= 0:
            found.append((start, start + len(key) + 1, subject))
            start = words.find(f"_{key}_", start + 1)
    found.sort(key=lambda m: (-(m[1] - m[0]), m[0]))
    taken: list[tuple[int, int]] = []
    chosen: list[tuple[int, str]] = []
    for start, stop, subject in found:
        if any(start < b and a < stop for a, b in taken):
            continue
        taken.append((start, stop))
        if subject not in (s for _, s in chosen):
            chosen.append((start, subject))
    return [subject for _, subject in sorted(chosen)]


def coverage_subjects(
    data: ModelData, aliases: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(text to look for in a label name, coverage subject): families, tokens and metadata
    values (``hydra`` -> ``weapon=hydra``), then the aliases that name one of them (``RP`` ->
    ``respawn_punisher``). The model's part is computed once."""

    def build() -> list[tuple[str, str]]:
        subjects = [(name, name) for name in data.family_names]
        subjects += [(name, name) for name in data.token_names]
        for column in data.metadata_columns:
            values = data.metadata_values(column)
            if len(values) <= COVERAGE_VALUES_MAX:
                subjects += [(str(v), f"{column}={v}") for v in values if v is not None]
        return subjects

    base: list[tuple[str, str]] = memoized(data, "coverage_subjects", build)
    if not aliases:
        return base
    known = {subject for _, subject in base}
    extra = [(key, value.strip()) for key, value in aliases.items() if value.strip() in known]
    return base + extra


def abbreviations(data: ModelData) -> list[tuple[str, str]]:
    """(initials, family) for each family of several words whose initials are its own and not
    already a name (``ssu`` -> ``swim_speed_up``, ``rp`` -> ``respawn_punisher``)."""

    def build() -> list[tuple[str, str]]:
        taken = {_words(n) for n in [*data.token_names, *data.family_names]}
        found: dict[str, list[str]] = {}
        for family in data.family_names:
            parts = [p for p in _words(family).split("_") if p]
            if len(parts) >= 2 and not any(p.isdigit() for p in parts):
                found.setdefault("".join(p[0] for p in parts), []).append(family)
        return sorted(
            (short, families[0])
            for short, families in found.items()
            if len(families) == 1 and short not in taken
        )

    return memoized(data, "family_abbreviations", build)


def _initials(data: ModelData) -> set[str]:
    """Initials of every family of several words, shared or not (``iru`` is two families: a
    name made of it is still only token names)."""

    def build() -> set[str]:
        out = set()
        for family in data.family_names:
            parts = [p for p in _words(family).split("_") if p]
            if len(parts) >= 2:
                out.add("".join(p[0] for p in parts))
        return out

    return memoized(data, "family_initials", build)


# --- the checks ------------------------------------------------------------------------------
def lint_label(
    data: ModelData,
    feature_id: int,
    *,
    name: str,
    category: str | None = None,
    notes: str | None = None,
    interpretability_confidence: float | None = None,
    aliases: Mapping[str, str] | None = None,
) -> list[LintWarning]:
    """The warnings for a label about to be saved (or just saved); never raises for a bad
    label, only for a bad feature id."""
    data.feature(feature_id)  # validates the id
    warnings: list[LintWarning] = []
    short = abbreviations(data)
    subjects = coverage_subjects(data, aliases) + short
    for subject in mentioned_subjects(name, subjects, {text for text, _ in short}):
        result = core_coverage(data, feature_id, subject)
        percent = result["core_coverage"]
        if percent is not None and percent < TAIL_BELOW:
            warnings.append(
                LintWarning(
                    "tail_marker",
                    f"the name mentions {subject}, which is in only {percent:.0f}% of the core "
                    "(a tail marker): name what the core shares, and mention it in the notes",
                )
            )
    if (category or "") in NAMES_ONLY_CATEGORIES and _only_names(data, name, subjects, aliases):
        warnings.append(
            LintWarning(
                "token_names_only",
                f"a {category} label whose name only lists token names: name the build "
                "strategy or playstyle they serve (say why, not which tokens)",
            )
        )
    negation = _negation(name)
    if negation:
        warnings.append(
            LintWarning(
                "negation",
                f"the name is a negation ({negation!r}): say what the feature is, positively, "
                "not what it avoids",
            )
        )
    if category == "strategic" and not (notes or "").strip():
        warnings.append(
            LintWarning(
                "strategic_no_notes",
                "a strategic label with empty notes: give the evidence (core coverage, key "
                "enrichments, output effects, the flags checked)",
            )
        )
    if interpretability_confidence is None:
        warnings.append(
            LintWarning(
                "no_interpretability",
                "no interpretability confidence: say how well the label explains the feature "
                "(0..1)",
            )
        )
    return warnings


def lint_record(
    data: ModelData, record: LabelRecord, aliases: Mapping[str, str] | None = None
) -> list[LintWarning]:
    """:func:`lint_label` of a stored record."""
    return lint_label(
        data,
        record.feature_id,
        name=record.name or "",
        category=record.dashboard_category,
        notes=record.dashboard_notes,
        interpretability_confidence=record.interpretability_confidence,
        aliases=aliases,
    )


def _only_names(
    data: ModelData,
    name: str,
    subjects: list[tuple[str, str]],
    aliases: Mapping[str, str] | None,
) -> bool:
    """Whether the name's words are all token, family or metadata names (or abbreviations,
    aliases), connectors, numbers and filler words, with at least one name among them."""
    words = [w for w in _words(name).split("_") if w]
    keys = {tuple(_words(text).split("_")) for text, _ in subjects if _words(text)}
    keys |= {(_words(a),) for a in (aliases or {}) if _words(a)}
    keys |= {(a,) for a in _initials(data)}
    longest = max((len(k) for k in keys), default=1)
    i, named = 0, False
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            if tuple(words[i : i + size]) in keys:
                i, named = i + size, True
                break
        else:
            if words[i] not in FILLER_WORDS and not words[i].isdigit():
                return False
            i += 1
    return named


def _negation(name: str) -> str | None:
    """The word that makes the name a negation, if any."""
    for word in re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", name):
        parts = word.lower().split("-")
        if parts[0] in NEGATION_WORDS or any(p.endswith(_NEGATION_SUFFIXES) for p in parts):
            return word
    return None

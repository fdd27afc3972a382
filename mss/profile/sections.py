"""The sections of the medical profile and what each item of them holds (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Section(enum.StrEnum):
    """Values are the names the access matrix uses (mss/vault/access_matrix.toml
    `profile = [...]`)."""

    ALLERGIES = "allergies"
    HISTORY = "history"
    TREATMENTS = "treatments"
    VACCINATIONS = "vaccinations"
    MEASURES = "measures"
    BLOOD_GROUP = "blood_group"
    PERSONS_TO_WARN = "persons_to_warn"
    ADVANCE_DIRECTIVES = "advance_directives"


TITLES: dict[Section, str] = {
    Section.ALLERGIES: "Allergies et intolérances",
    Section.HISTORY: "Antécédents médicaux et chirurgicaux",
    Section.TREATMENTS: "Traitements",
    Section.VACCINATIONS: "Vaccinations",
    Section.MEASURES: "Mesures de santé",
    Section.BLOOD_GROUP: "Groupe sanguin",
    Section.PERSONS_TO_WARN: "Personnes à prévenir",
    Section.ADVANCE_DIRECTIVES: "Directives anticipées",
}
"""What the pages and the PDF call each section."""

EMERGENCY: tuple[Section, ...] = (Section.ALLERGIES, Section.BLOOD_GROUP, Section.TREATMENTS,
                                  Section.PERSONS_TO_WARN, Section.ADVANCE_DIRECTIVES)
"""The emergency subset, in the order the SAMU regulator reads it."""

ORDER: tuple[Section, ...] = (*EMERGENCY, Section.HISTORY, Section.VACCINATIONS,
                              Section.MEASURES)


@dataclass(frozen=True, slots=True)
class MeasureKind:
    key: str
    label: str
    unit: str
    low: float  # the accepted range: a typing error is refused, not plotted
    high: float


MEASURES: dict[str, MeasureKind] = {m.key: m for m in (
    MeasureKind("weight", "Poids", "kg", 0.3, 400),
    MeasureKind("height", "Taille", "cm", 20, 260),
    MeasureKind("systolic", "Tension systolique", "mmHg", 40, 300),
    MeasureKind("diastolic", "Tension diastolique", "mmHg", 20, 200),
    MeasureKind("glucose", "Glycémie", "g/L", 0.1, 10),
    MeasureKind("temperature", "Température", "°C", 30, 45),
)}

BLOOD_GROUPS = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")

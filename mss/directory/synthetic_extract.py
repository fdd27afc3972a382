"""Synthetic national directory extracts for tests and benchmarks.

Realistic shapes (PER and ORG mailboxes, RPPS with their Luhn digit, professions and
specialties of the Annuaire Santé, French names with accents, postcodes), generated
deterministically from a seed: the same seed writes the same file.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from mss.directory.identifiers import luhn_is_valid
from mss.directory.national_extract import COLUMN_COUNT, HEADER

LAST_NAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
              "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia", "Bertrand",
              "Roux", "Vincent", "Fournier", "Morel", "Girard", "André", "Lefebvre", "Mercier",
              "Dupont", "Lambert", "Bonnet", "François", "Martinez", "Légaré", "Müller",
              "Nguyen", "Château", "Benoît", "Gauthier", "Perrin", "Rousseau", "Blanc")
FIRST_NAMES = ("Jean", "Marie", "Élodie", "Camille", "Lucas", "Léa", "Chloé", "Hugo", "Inès",
               "Gaëlle", "Jérôme", "Anaïs", "Noël", "Zoé", "Éric", "Hélène", "Louis", "Manon",
               "Rémi", "Céline", "Théo", "Agnès", "François", "Maëlys")
PROFESSIONS = (("10", "Médecin", "SM54", "Médecine générale"),
               ("10", "Médecin", "SM04", "Cardiologie et maladies vasculaires"),
               ("10", "Médecin", "SM26", "Pédiatrie"),
               ("60", "Infirmier", "", ""),
               ("21", "Pharmacien", "", ""),
               ("40", "Chirurgien-Dentiste", "", ""),
               ("50", "Sage-Femme", "", ""),
               ("70", "Masseur-Kinésithérapeute", "", ""))
SERVICES = ("Service de cardiologie", "Secrétariat médical", "Pharmacie", "Urgences",
            "Laboratoire de biologie", "Service d'imagerie", "Maternité", "Cabinet médical")
CITIES = (("75013", "PARIS", "75"), ("69003", "LYON", "69"), ("13005", "MARSEILLE", "13"),
          ("31000", "TOULOUSE", "31"), ("33000", "BORDEAUX", "33"), ("59000", "LILLE", "59"),
          ("67000", "STRASBOURG", "67"), ("20000", "AJACCIO", "2A"), ("44000", "NANTES", "44"),
          ("35000", "RENNES", "35"), ("06000", "NICE", "06"), ("97400", "SAINT-DENIS", "974"))


def rpps_for(number: int) -> str:
    """An 11-digit RPPS `1` + 9 digits + its Luhn check digit."""
    base = f"1{number:09d}"
    return next(base + str(d) for d in range(10) if luhn_is_valid(base + str(d)))


def _ascii(text: str) -> str:
    table = str.maketrans("éèêëàâäîïôöûüùçÉÈÊËÀÂÄÎÏÔÖÛÜÙÇ", "eeeeaaaiioouuucEEEEAAAIIOOUUUC")
    return text.translate(table).lower().replace(" ", "-").replace("'", "")


def synthetic_line(number: int, rng: random.Random) -> str:
    """One data line; addresses are unique by `number`."""
    postcode, city, department = rng.choice(CITIES)
    finess = f"{department[:2]}0{number % 1000000:06d}"
    structure = f"Centre hospitalier de {city.title()}"
    fields = [""] * COLUMN_COUNT
    if rng.random() < 0.8:
        last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
        code, label, specialty, specialty_label = rng.choice(PROFESSIONS)
        rpps = rpps_for(number)
        fields[0] = "PER"
        fields[1] = f"{_ascii(first)}.{_ascii(last)}.{number}@{_ascii(city)}.mssante.fr"
        fields[2:5] = ["8", rpps, f"8{rpps}"]
        fields[8:11] = [rng.choice(("M", "MME", "DR")), last.upper(), first]
        fields[11:17] = ["C", "Civil", code, label, specialty, specialty_label]
    else:
        service = rng.choice(SERVICES)
        fields[0] = "ORG"
        fields[1] = f"{_ascii(service)}.{number}@ch-{_ascii(city)}.mssante.fr"
        fields[7] = service
    fields[5:7] = ["3", finess]
    fields[17] = "O"
    fields[18:20] = [structure.upper(), structure]
    fields[22:26] = [str(1 + number % 120), "", "R", "de la République"]
    fields[27:31] = [f"{postcode} {city}", postcode, department, "FRANCE"]
    return "|".join(fields)


def synthetic_lines(count: int, seed: int = 1) -> Iterator[str]:
    rng = random.Random(seed)
    for number in range(count):
        yield synthetic_line(number, rng)


def write_synthetic_extract(path: Path, count: int, seed: int = 1,
                            extra_lines: tuple[str, ...] = ()) -> Path:
    """Write a header, `count` generated lines, then `extra_lines` as given."""
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(HEADER + "\n")
        for line in synthetic_lines(count, seed):
            out.write(line + "\n")
        for line in extra_lines:
            out.write(line + "\n")
    return path

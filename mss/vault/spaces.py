"""The nine spaces in which a patient sees their documents (docs/architecture.md §9, vault
categories)."""

from __future__ import annotations

import enum


class PatientSpace(enum.StrEnum):
    """Values are the French names the patient reads."""

    SYNTHESES = "Synthèses"
    TRAITEMENTS_ET_SOINS = "Traitements et soins"
    COMPTES_RENDUS = "Comptes rendus"
    IMAGERIE_MEDICALE = "Imagerie médicale"
    BIOLOGIE = "Biologie"
    PREVENTION = "Prévention"
    CERTIFICATS = "Certificats"
    DONNEES_DE_REMBOURSEMENT = "Données de remboursement"
    ESPACE_PERSONNEL = "Espace personnel"


DEFAULT_SPACE = PatientSpace.COMPTES_RENDUS
"""Where a document lands when nothing classifies it (MSS choice, docs/architecture.md §9)."""

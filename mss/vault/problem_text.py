"""What each refusal of the vault means, in French and English, for the people told of it.

The sender reads it in the processing acknowledgement (mss.vault.acknowledgement), the
patient in her traces and deposit statuses. Sentences name no internal rule code; the
file they concern is named beside them by the caller.
"""

from __future__ import annotations

from mss.vault.documents import ProblemKind

_K = ProblemKind

PROBLEM_TEXT: dict[ProblemKind, tuple[str, str]] = {
    _K.UNREADABLE_ARCHIVE: ("l'archive XDM ne peut pas être lue sans risque",
                            "the XDM archive cannot be read safely"),
    _K.MISSING_METADATA: ("l'archive ne contient pas de métadonnées XDM (METADATA.XML)",
                          "the archive holds no XDM metadata (METADATA.XML)"),
    _K.MISSING_FILE: ("le fichier annoncé par les métadonnées manque dans l'archive",
                      "the file the metadata names is missing from the archive"),
    _K.INTEGRITY: ("la taille ou l'empreinte SHA-1 diffère de celle des métadonnées",
                   "its size or SHA-1 differs from the metadata"),
    _K.INS_MISSING: ("le document ne porte pas l'INS du patient",
                     "the document does not carry the patient's INS"),
    _K.INS_INCOMPLETE: ("l'INS du document est mal formé (clé erronée)",
                        "the document's INS is malformed (wrong key)"),
    _K.INS_MISMATCH: ("le document concerne un autre patient (INS différent)",
                      "the document is about another patient (different INS)"),
    _K.INVISIBLE_PATIENT: ("le document est marqué invisible pour le patient",
                           "the document is marked invisible to the patient"),
    _K.NESTED_ARCHIVE: ("une archive dans l'archive n'est pas ouverte",
                        "an archive inside the archive is not opened"),
    _K.UNSAFE_DOCUMENT: ("le document est refusé par sécurité (XML interdit ou contenu "
                         "différent du type annoncé)",
                         "the document is refused for safety (forbidden XML or content "
                         "other than its declared type)"),
    _K.UNSUPPORTED_TYPE: ("ce type de fichier n'est pas un document accepté (PDF, image, "
                          "CDA R2 ou archive IHE XDM)",
                          "this kind of file is not an accepted document (PDF, image, "
                          "CDA R2 or IHE XDM archive)"),
    _K.TOO_MANY_ATTACHMENTS: ("trop de pièces jointes ou une imbrication trop profonde : "
                              "les suivantes ne sont pas lues",
                              "too many attachments or nesting too deep: the rest is "
                              "not read"),
}


def problem_text(kind: ProblemKind | str, language: str = "fr") -> str:
    """The sentence for `kind` (a ProblemKind or its stored value) in `language`."""
    try:
        french, english = PROBLEM_TEXT[ProblemKind(kind)]
    except ValueError:
        return str(kind)
    return english if language == "en" else french

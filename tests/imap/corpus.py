"""Real-shaped messages for the IMAP structure and search tests.

Each message is assembled from named pieces, so tests can state what a section must
be without re-deriving it by hand. Line endings are CRLF, as the store keeps them.
"""

from __future__ import annotations

import base64
import io
import zipfile


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


def wrap_base64(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


# -- 1. a plain single-part message ------------------------------------------------------

SIMPLE_BODY = crlf("Bonjour,\nle compte rendu suit.\n\nDr House\n")
SIMPLE = (
    crlf(
        "Date: Tue, 14 May 2024 09:30:00 +0200\n"
        "From: Dr Gregory House <gregory.house@hopital.mssante.fr>\n"
        "To: jean.dupont@cabinet.mssante.fr, secretariat@hopital.mssante.fr\n"
        'Cc: "Martin, Paul" <paul.martin@labo.mssante.fr>\n'
        "Subject: Compte rendu consultation\n"
        "Message-ID: <cr-1@hopital.mssante.fr>\n"
        "\n"
    )
    + SIMPLE_BODY
)

# -- 2. multipart/mixed holding multipart/alternative and a PDF ----------------------------

PLAIN_QP = crlf("R=C3=A9sultats normaux.\nCordialement.\n")
HTML_BODY = crlf("<p>R&eacute;sultats <b>normaux</b>.</p>\n")
PDF_BYTES = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF_BASE64 = wrap_base64(PDF_BYTES)
ALTERNATIVE_PART = (
    crlf(
        'Content-Type: multipart/alternative; boundary="alt-b"\n'
        "\n"
        "--alt-b\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
    )
    + PLAIN_QP
    + crlf("\n--alt-b\nContent-Type: text/html; charset=utf-8\n\n")
    + HTML_BODY
    + crlf("\n--alt-b--\n")
)
PDF_PART_HEADER = crlf(
    'Content-Type: application/pdf; name="resultats.pdf"\n'
    "Content-Transfer-Encoding: base64\n"
    'Content-Disposition: attachment; filename="resultats.pdf"\n'
    "Content-Language: fr\n"
    "\n"
)
NESTED = (
    crlf(
        "Date: Wed, 15 May 2024 10:00:00 +0200\n"
        "From: labo@labo.mssante.fr\n"
        "Sender: automate@labo.mssante.fr\n"
        "Reply-To: biologiste@labo.mssante.fr\n"
        "To: jean.dupont@cabinet.mssante.fr\n"
        "Subject: Resultats\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="mix-b"\n'
        "\n"
        "This is a multi-part message in MIME format.\n"
        "--mix-b\n"
    )
    + ALTERNATIVE_PART
    + crlf("--mix-b\n")
    + PDF_PART_HEADER
    + PDF_BASE64
    + crlf("\n--mix-b--\n")
)

# -- 3. a forwarded message (message/rfc822) -----------------------------------------------

INNER_BODY = crlf("Le patient est sorti ce jour.\n")
INNER_MESSAGE = (
    crlf(
        "Date: Mon, 13 May 2024 17:00:00 +0200\n"
        "From: =?UTF-8?Q?C=C3=A9line_Durand?= <celine.durand@clinique.mssante.fr>\n"
        "To: gregory.house@hopital.mssante.fr\n"
        "Subject: Sortie du patient\n"
        "Message-ID: <sortie-7@clinique.mssante.fr>\n"
        "\n"
    )
    + INNER_BODY
)
FORWARD_NOTE = crlf("Pour information, voir ci-dessous.\n")
FORWARDED = (
    crlf(
        "Date: Tue, 14 May 2024 08:00:00 +0200\n"
        "From: gregory.house@hopital.mssante.fr\n"
        "To: jean.dupont@cabinet.mssante.fr\n"
        "Subject: Fwd: Sortie du patient\n"
        "In-Reply-To: <sortie-7@clinique.mssante.fr>\n"
        'Content-Type: multipart/mixed; boundary="fwd"\n'
        "\n"
        "--fwd\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
    )
    + FORWARD_NOTE
    + crlf("\n--fwd\nContent-Type: message/rfc822\nContent-Description: forwarded\n\n")
    + INNER_MESSAGE
    + crlf("\n--fwd--\n")
)

# -- 4. an IHE XDM archive with a PDF -------------------------------------------------------


def _xdm_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("INDEX.HTM", "<html><body>XDM</body></html>")
        archive.writestr("README.TXT", "IHE XDM")
        archive.writestr("IHE_XDM/SUBSET01/METADATA.XML", "<SubmitObjectsRequest/>")
        archive.writestr("IHE_XDM/SUBSET01/DOC0001.PDF", PDF_BYTES)
    return buffer.getvalue()


XDM_ZIP = _xdm_zip()
XDM_BASE64 = wrap_base64(XDM_ZIP)
XDM_NOTE = crlf("Veuillez trouver le document au format XDM.\n")
XDM = (
    crlf(
        "Date: Thu, 16 May 2024 14:00:00 +0200\n"
        "From: dmp@hopital.mssante.fr\n"
        "To: 279035121518989@patient.mssante.fr\n"
        "Subject: Document\n"
        'Content-Type: multipart/mixed; boundary="xdm-b"\n'
        "\n"
        "--xdm-b\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "\n"
    )
    + XDM_NOTE
    + crlf(
        "\n--xdm-b\n"
        "Content-Type: application/zip; name=IHE_XDM.zip\n"
        "Content-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=IHE_XDM.zip\n"
        "\n"
    )
    + XDM_BASE64
    + crlf("\n--xdm-b--\n")
)

# -- 5. non-ASCII headers: RFC 2047 and raw UTF-8 (RFC 6532) ---------------------------------

NON_ASCII_SUBJECT_ENCODED = b"=?UTF-8?B?UsOpc3VsdGF0cyBkJ2FuYWx5c2Ugw6AgdsOpcmlmaWVy?="
NON_ASCII_SUBJECT = "Résultats d'analyse à vérifier"
RAW_UTF8_NAME = "Zoé Lefèvre".encode()
LATIN1_QP_BODY = crlf("Le m=E9decin a prescrit un =E9chographie.\n")
NON_ASCII = (
    crlf("Date: Fri, 17 May 2024 11:15:00 +0000\n")
    + b"From: =?UTF-8?Q?Fran=C3=A7oise_M=C3=BCller?= <francoise.muller@hopital.mssante.fr>\r\n"
    + b"To: "
    + RAW_UTF8_NAME
    + b" <zoe.lefevre@cabinet.mssante.fr>\r\n"
    + b"Subject: "
    + NON_ASCII_SUBJECT_ENCODED
    + b"\r\n"
    + crlf(
        "Content-Type: text/plain; charset=iso-8859-1\n"
        "Content-Transfer-Encoding: quoted-printable\n"
        "\n"
    )
    + LATIN1_QP_BODY
)

# -- 6. malformed MIME -----------------------------------------------------------------------

MALFORMED_BODY = crlf("--nowhere\nContent-Type: text/plain\n\nnot really a part\n")
MALFORMED = (
    crlf("From: broken@example.invalid\nSubject: broken\nContent-Type: multipart/mixed\n\n")
    + MALFORMED_BODY
)
BAD_BOUNDARY = crlf(
    'Subject: no parts\nContent-Type: multipart/mixed; boundary="never-used"\n\njust text\n'
)
NO_HEADER_END = crlf("Subject: only a header\nX-Other: yes")
GARBAGE_TYPE = crlf("Content-Type: ;;;==\nSubject: odd\n\nbody\n")

CORPUS = {
    "simple": SIMPLE,
    "nested": NESTED,
    "forwarded": FORWARDED,
    "xdm": XDM,
    "non_ascii": NON_ASCII,
    "malformed": MALFORMED,
    "bad_boundary": BAD_BOUNDARY,
    "no_header_end": NO_HEADER_END,
    "garbage_type": GARBAGE_TYPE,
}

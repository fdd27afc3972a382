# ruff: noqa: E501  (the XML samples keep their lines as documents write them)
"""CDA R2 test documents shaped like the CI-SIS and HL7 examples (written for MSS: the
header of a French CDA and a structured body using every narrative block we render)."""

from __future__ import annotations

import base64
import struct
import zlib

from .corpus import INS_OID, PATIENT_INS


def png_bytes(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 30, 30)
              ) -> bytes:
    """A real PNG of one colour (RFC 2083), so a browser draws it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


def lettre_de_liaison_cda(ins: str = PATIENT_INS) -> bytes:
    """A lettre de liaison à la sortie (11490-0) with sections, list, table, styles,
    a link, an attached image, and a hostile script that must never reach the page."""
    image = base64.b64encode(png_bytes()).decode()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <templateId root="1.2.250.1.213.1.1.1.1"/>
  <id root="1.2.250.1.999.1.1" extension="LDL-2024-0042"/>
  <code code="11490-0" codeSystem="2.16.840.1.113883.6.1"
        displayName="Lettre de liaison à la sortie d'un établissement de soins"/>
  <title>Lettre de liaison à la sortie</title>
  <effectiveTime value="20240115103000+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="{INS_OID}" extension="{ins}"/>
    <patient><name><given>Jeanne</given><family qualifier="BR">DUPONT</family></name>
      <administrativeGenderCode code="F" codeSystem="2.16.840.1.113883.5.1"/>
      <birthTime value="19850512"/></patient>
  </patientRole></recordTarget>
  <author><time value="20240115103000+0100"/><assignedAuthor>
    <id root="1.2.250.1.71.4.2.1" extension="810001234567"/>
    <assignedPerson><name><prefix>Dr</prefix><given>Alice</given><family>MARTIN</family></name></assignedPerson>
    <representedOrganization><name>Hôpital de démonstration — Cardiologie</name></representedOrganization>
  </assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="1.2.250.1.71.4.2.2" extension="1750048886"/>
    <name>Hôpital de démonstration</name>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <component><structuredBody>
    <component><section>
      <code code="46241-6" codeSystem="2.16.840.1.113883.6.1"/>
      <title>Motif d'hospitalisation</title>
      <text><paragraph>Douleur thoracique <content styleCode="Bold">aiguë</content> le
        14/01/2024, <content styleCode="Italics">sans</content> signe de gravité.</paragraph>
        <paragraph>Voir <linkHtml href="javascript:alert(1)">les recommandations</linkHtml>.
        </paragraph>
        <paragraph>&lt;script&gt;alert('x')&lt;/script&gt;</paragraph></text>
    </section></component>
    <component><section>
      <title>Traitements à la sortie</title>
      <text><list listType="ordered"><item>Bisoprolol 2,5 mg : 1 comprimé le matin</item>
        <item>Aspirine 75 mg : 1 sachet le midi</item></list></text>
    </section></component>
    <component><section>
      <title>Résultats d'examens</title>
      <text><table><thead><tr><th>Examen</th><th>Résultat</th><th>Valeurs de référence</th></tr></thead>
        <tbody><tr><td>Troponine</td><td><content styleCode="Bold">12 ng/L</content></td><td>&lt; 14</td></tr>
        <tr><td>Hémoglobine</td><td>13,2 g/dL</td><td>12 – 16</td></tr></tbody></table>
        <paragraph>Électrocardiogramme :</paragraph>
        <renderMultiMedia referencedObject="ECG1"><caption>ECG de sortie</caption></renderMultiMedia></text>
      <entry><observationMedia classCode="OBS" moodCode="EVN" ID="ECG1">
        <value mediaType="image/png" representation="B64">{image}</value>
      </observationMedia></entry>
      <component><section><title>Commentaire</title>
        <text><paragraph>Contrôle dans un mois.<br/>Consultation de cardiologie à prévoir.</paragraph></text>
      </section></component>
    </section></component>
  </structuredBody></component>
</ClinicalDocument>
""".encode()

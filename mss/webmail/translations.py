"""The interface is French; these are its English words for the language switch."""

from __future__ import annotations

ENGLISH: dict[str, str] = {
    "Messagerie santé": "Health messaging",
    "Connexion": "Log in",
    "Identifiant (adresse de messagerie ou INS)": "Login (mailbox address or INS)",
    "Mot de passe": "Password",
    "Boîte organisationnelle (facultatif)": "Organisational mailbox (optional)",
    "Se connecter": "Log in",
    "Se connecter avec": "Log in with",
    "Connexion refusée par Pro Santé Connect ou par la messagerie. Réessayez.":
        "Sign-in refused by Pro Santé Connect or by the mail service. Try again.",
    "Pro Santé Connect est indisponible pour le moment. Réessayez plus tard.":
        "Pro Santé Connect is unavailable at the moment. Try again later.",
    "Se déconnecter": "Log out",
    "Identifiants incorrects ou trop de tentatives. Réessayez plus tard.":
        "Wrong login or too many attempts. Try again later.",
    "Code de vérification": "Verification code",
    "Valider": "Confirm",
    "Code incorrect.": "Wrong code.",
    "Messages": "Messages",
    "Documents": "Documents",
    "Traces": "Traces",
    "Paramètres": "Settings",
    "Non envoyés": "Not sent",
    "Nouveau message": "New message",
    "Aucun message.": "No messages.",
    "non lu(s)": "unread",
    "Le professionnel a mis fin aux échanges": "The professional ended the exchange",
    "Échanges ouverts": "Exchange open",
    "Répondre": "Reply",
    "Envoyer": "Send",
    "Votre message": "Your message",
    "Objet": "Subject",
    "Destinataire": "Recipient",
    "Pièces jointes": "Attachments",
    "Télécharger": "Download",
    "Message envoyé.": "Message sent.",
    "Message non envoyé": "Message not sent",
    "Vous ne pouvez pas répondre à ce professionnel.": "You cannot reply to this professional.",
    "Vous": "You",
    "Retour": "Back",
    "Messages plus anciens": "Older messages",
    "Déposer un document": "Upload a document",
    "Masquer à un professionnel (RPPS)": "Hide from a professional (RPPS)",
    "Masquer": "Hide",
    "État de votre espace": "State of your space",
    "Activer": "Activate",
    "S'opposer": "Object",
    "Clôturer": "Close",
    "Adresse personnelle pour les avis": "Personal address for notices",
    "Enregistrer": "Save",
    "Double authentification": "Two-factor authentication",
    "Patients": "Patients",
    "Mettre fin aux échanges": "End the exchange",
    "Écrire à un patient": "Write to a patient",
    "INS du patient": "Patient's INS",
    "Accès en urgence (bris de glace)": "Emergency access (break-glass)",
    "Motif": "Reason",
    "Plus anciennes": "Older",
    "Date": "Date",
    "Taille": "Size",
}


def translate(text: str, lang: str) -> str:
    return ENGLISH.get(text, text) if lang == "en" else text

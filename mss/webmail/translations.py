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
    "Continuer": "Continue",
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
    # patient webmail: threads, Sent, preview, not sent, closing (issue 21)
    "Rechercher": "Search",
    "Rechercher dans vos messages et documents": "Search your messages and documents",
    "Mots (objet, texte, nom de fichier)": "Words (subject, text, file name)",
    "Expéditeur": "Sender",
    "Du": "From",
    "Au": "To",
    "Corbeille": "Trash",
    "Message placé dans la corbeille.": "Message moved to the trash.",
    "Message restauré.": "Message restored.",
    "Un message supprimé reste ici, restaurable, pendant 30 jours ; il est ensuite effacé.":
        "A deleted message stays here, restorable, for 30 days; then it is erased.",
    "Supprimé le": "Deleted on",
    "restaurable jusqu'au": "restorable until",
    "Restaurer": "Restore",
    "Supprimer": "Delete",
    "Avis par e-mail": "E-mail notices",
    "Recevoir un avis sur mon adresse personnelle quand un message arrive":
        "Get a notice on my personal address when a message arrives",
    "Fréquence des avis": "How often",
    "À chaque nouveau message": "For each new message",
    "Un avis par jour au plus (résumé)": "At most one notice a day (digest)",
    "Appareils connectés": "Signed-in devices",
    "Navigateur inconnu": "Unknown browser",
    "cet appareil": "this device",
    "Adresse": "Address",
    "connecté le": "signed in on",
    "dernière activité": "last active",
    "Déconnecter cet appareil": "Sign this device out",
    "Déconnecter tous les autres appareils": "Sign out all other devices",
    "Cette session n'existe plus.": "This session no longer exists.",
    "Ce type de fichier ne peut pas être affiché ici : téléchargez-le.":
        "This type of file cannot be shown here: download it.",
    "Rien n'a été envoyé ni conservé.": "Nothing was sent or kept.",
    "Ce destinataire n'est pas disponible.": "This recipient is not available.",
    "Votre espace de messagerie est clôturé": "Your messaging space is closed",
    "depuis le": "since",
    "Un espace clôturé ne reçoit plus de messages et ne permet plus de se connecter ; les "
    "professionnels ne peuvent plus vous écrire.":
        "A closed space receives no more messages and cannot be logged in to; professionals "
        "can no longer write to you.",
    "Pour le rouvrir, adressez-vous à Mon espace santé.":
        "To reopen it, contact Mon espace santé.",
    "Clôturer votre espace ?": "Close your space?",
    "Une fois l'espace clôturé, vous ne pourrez plus vous connecter ni recevoir de messages, "
    "et les professionnels ne pourront plus vous écrire. À la connexion, la page vous "
    "rappellera que l'espace est clôturé.":
        "Once the space is closed, you can no longer log in or receive messages, and "
        "professionals can no longer write to you. The login page will remind you that the "
        "space is closed.",
    "Vous opposer à la messagerie ?": "Object to the messaging service?",
    "Les professionnels ne pourront plus vous écrire et vous ne pourrez plus envoyer de "
    "messages. Vous pourrez encore vous connecter pour lire vos messages et réactiver votre "
    "espace.":
        "Professionals will no longer be able to write to you and you will not be able to "
        "send messages. You can still log in to read your messages and reactivate your space.",
    "Oui, clôturer mon espace": "Yes, close my space",
    "Oui, m'opposer": "Yes, object",
    "Annuler": "Cancel",
    "Envoyés": "Sent",
    "Chaque message que vous avez envoyé, du plus récent au plus ancien.":
        "Every message you sent, newest first.",
    "Professionnel de santé": "Health professional",
    "Marquer comme non lu": "Mark as unread",
    "Fil": "Thread",
    "S'opposer : les professionnels ne peuvent plus vous écrire, vous pouvez encore lire vos "
    "messages et réactiver votre espace. Clôturer : vous ne pouvez plus vous connecter. "
    "Chacun demande une confirmation.":
        "Object: professionals can no longer write to you; you can still read your messages "
        "and reactivate your space. Close: you can no longer log in. Each asks for "
        "confirmation.",
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
    "motif": "reason",
    "Seuls les documents ouverts en urgence à votre profession sont affichés ; la patiente "
    "et son médecin traitant en sont informés.":
        "Only the documents emergency access opens to your profession are shown; the "
        "patient and her attending physician are told.",
    "Documents non accessibles à votre profession": "Documents not open to your profession",
    "Masquer à un professionnel": "Hide from a professional",
    "Qui peut voir mes documents": "Who can see my documents",
    "Aucun professionnel ne peut voir vos documents.": "No professional can see your documents.",
    "médecin traitant": "attending physician",
    "suivi en cours": "in care",
    "break-glass": "emergency access",
    "Bloqué": "Blocked",
    "aucun document": "no document",
    "Débloquer": "Unblock",
    "Bloquer l'accès": "Block access",
    "Mon médecin traitant": "My attending physician",
    "Auteur": "Author",
    "Patient": "Patient",
    "né(e) le": "born",
    "Conservé par": "Kept by",
    "Confidentialité": "Confidentiality",
    "Ouvrir le document joint": "Open the attached document",
    "Télécharger l'original": "Download the original",
    "Voir le message d'origine": "See the message it came with",
    "Documents de ce message": "Documents from this message",
    "Chaque accès et chaque action sur votre messagerie et vos documents, du plus récent au "
    "plus ancien.": "Every access and action on your mailbox and documents, newest first.",
    "Qui": "Who",
    "Tout le monde": "Everyone",
    "Tous": "All",
    "Filtrer": "Filter",
    "Accès et actions des personnes": "Accesses and actions by people",
    "Aucune trace.": "No trace.",
    "Opérations de la messagerie": "The mail service's own operations",
    "Lectures faites par le service lui-même pour son fonctionnement, pas par une personne.":
        "Reads the service made itself to work, not by a person.",
    "Menu principal": "Main menu",
    "Quelle boîte ouvrir ?": "Which mailbox to open?",
    "Vous êtes membre de boîtes organisationnelles : choisissez celle sur laquelle agir.":
        "You are a member of organisational mailboxes: choose the one to act on.",
    "Ma boîte personnelle": "My own mailbox",
    "Boîte ouverte": "Mailbox open",
    "Changer de boîte": "Change mailbox",
    "Boîte organisationnelle": "Organisational mailbox",
    "Membre d'une boîte organisationnelle ? Vous la choisirez après la connexion.":
        "Member of an organisational mailbox? You will choose it after signing in.",
    "Le nom du patient vous est montré pour confirmation avant d'écrire.":
        "The patient's name is shown to you for confirmation before you write.",
    "Autre patient": "Another patient",
    "INS": "INS",
    "Je confirme écrire à ce patient": "I confirm I am writing to this patient",
    "Échanges ouverts : le patient peut vous répondre.":
        "Exchange open: the patient can reply to you.",
    "Aucun échange avec ce patient pour l'instant : vérifiez son nom avant de lui écrire.":
        "No exchange with this patient yet: check their name before writing.",
    "Documents que vous pouvez voir": "Documents you may see",
    "Tous ses documents": "All their documents",
    "Ses documents vous sont ouverts quand vous la suivez (un échange, ou médecin traitant), "
    "ou en urgence avec un motif.":
        "Their documents open to you when you are caring for them (an exchange, or as "
        "attending physician), or in an emergency with a reason.",
    "Mettre fin aux échanges avec": "End the exchange with",
    "Le patient ne pourra plus vous répondre ni vous écrire. Vous pourrez rouvrir les "
    "échanges en lui écrivant de nouveau.":
        "The patient will no longer be able to reply or write to you. You can reopen the "
        "exchange by writing to them again.",
    "Ce que verra le patient": "What the patient will see",
    "Aperçu de la page du patient": "Preview of the patient's page",
    "Sans bouton Répondre : ses messages restent lisibles.":
        "No Reply button: the messages stay readable.",
    "Confirmer la fin des échanges": "Confirm the end of the exchange",
    "Règle": "Rule",
    "Document": "Document",
    "service@…": "department@…",
    "Espaces de documents": "Document spaces",
    "Aucun document.": "No documents.",
    "Fichier à déposer": "File to upload",
    "PDF, JPEG ou PNG, 20 Mo au plus.": "PDF, JPEG or PNG, 20 MB at most.",
    "Adresse de messagerie": "E-mail address",
    "Enregistré.": "Saved.",
    "État actuel": "Current state",
    "activé": "active",
    "opposition": "objected",
    "clôturé": "closed",
    "S'opposer ou clôturer ferme votre messagerie : les professionnels ne pourront plus vous "
    "écrire et vous ne pourrez plus vous connecter.":
        "Objecting or closing shuts your mailbox: professionals can no longer write to you "
        "and you can no longer log in.",
    "Activée.": "Enabled.",
    "Désactiver": "Disable",
    "Ajoutez cette clé dans votre application d'authentification":
        "Add this key to your authenticator app",
    "Ce patient n'est pas suivi par vous. En cas d'urgence, indiquez le motif : l'accès est "
    "tracé et le patient en est informé.":
        "You are not caring for this patient. In an emergency, give the reason: the access is "
        "recorded and the patient is told.",
    "Vos réponses vont à": "Your replies go to",
    "Refusé": "Refused",
    "Introuvable": "Not found",
    "Échanges terminés": "Exchange ended",
    "Échanges terminés : le patient ne peut plus répondre. Écrire de nouveau les rouvre.":
        "Exchange ended: the patient can no longer reply. Writing again reopens it.",
    "Aucun professionnel ne vous a écrit avec des échanges ouverts : vous ne pouvez pas écrire "
    "pour l'instant.":
        "No professional has written to you with the exchange open: you cannot write for now.",
    "Votre texte est conservé dans « Non envoyés ».": "Your text is kept in “Not sent”.",
    # the patient's document spaces (mss.vault.spaces.PatientSpace values)
    "Synthèses": "Summaries",
    "Traitements et soins": "Treatments and care",
    "Comptes rendus": "Reports",
    "Imagerie médicale": "Medical imaging",
    "Biologie": "Laboratory results",
    "Prévention": "Prevention",
    "Certificats": "Certificates",
    "Données de remboursement": "Reimbursement data",
    "Espace personnel": "Personal space",
}


def translate(text: str, lang: str) -> str:
    return ENGLISH.get(text, text) if lang == "en" else text


def _merge_page_words() -> None:
    from mss.webmail.agenda_words import AGENDA_ENGLISH

    ENGLISH.update(AGENDA_ENGLISH)


_merge_page_words()

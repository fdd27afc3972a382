"""English words of the agenda and medical profile pages (merged into translations)."""

from __future__ import annotations

AGENDA_ENGLISH: dict[str, str] = {
    "Agenda": "Agenda",
    "Agenda santé": "Health agenda",
    "1 heure avant": "1 hour before",
    "3 heures avant": "3 hours before",
    "1 jour avant": "1 day before",
    "2 jours avant": "2 days before",
    "1 semaine avant": "1 week before",
    "Rendez-vous": "Appointment",
    "Mon événement": "My event",
    "Document déposé": "Document deposited",
    "Message reçu": "Message received",
    "annulé": "cancelled",
    "Supprimer": "Delete",
    "Enregistré.": "Saved.",
    "Événement ajouté.": "Event added.",
    "Affichage": "View",
    "Liste": "List",
    "Mois": "Month",
    "Mois précédent": "Previous month",
    "Mois suivant": "Next month",
    "lun.": "Mon", "mar.": "Tue", "mer.": "Wed", "jeu.": "Thu", "ven.": "Fri",
    "sam.": "Sat", "dim.": "Sun",
    "janvier": "January", "février": "February", "mars": "March", "avril": "April",
    "mai": "May", "juin": "June", "juillet": "July", "août": "August",
    "septembre": "September", "octobre": "October", "novembre": "November",
    "décembre": "December",
    "À venir": "Upcoming",
    "Aucun rendez-vous à venir.": "No upcoming appointment.",
    "Passés": "Past",
    "Aucun rendez-vous passé.": "No past appointment.",
    "Parcours de soins": "Care timeline",
    "Les documents déposés et les messages reçus, du plus récent au plus ancien.":
        "Documents deposited and messages received, newest first.",
    "Rien pour le moment.": "Nothing yet.",
    "Ajouter un événement": "Add an event",
    "Titre": "Title",
    "Lieu": "Place",
    "Jour": "Day",
    "Début": "Start",
    "Fin": "End",
    "Toute la journée": "All day",
    "Ajouter": "Add",
    "Rappels": "Reminders",
    "Un rappel est un courriel sans information de santé, envoyé à votre adresse "
    "personnelle : « Vous avez un rappel dans votre espace santé ».":
        "A reminder is an e-mail without health information, sent to your personal "
        "address: \u201cYou have a reminder in your health space\u201d.",
    "M'envoyer un rappel avant chaque rendez-vous": "Send me a reminder before each "
                                                    "appointment",
    "Quand": "When",
    "déposé par vous": "deposited by you",
    "Abonnement pour votre téléphone": "Subscription for your phone",
    "Créer une adresse d'abonnement": "Create a subscription address",
    "Montrer le titre et le lieu des rendez-vous": "Show the title and place of "
                                                  "appointments",
    "Révoquer": "Revoke",
    "Abonnements actifs": "Active subscriptions",
    "Copiez cette adresse dans l'application calendrier de votre téléphone ; elle ne "
    "sera plus affichée.": "Copy this address into your phone's calendar app; it will "
                          "not be shown again.",
    "Sans le titre ni le lieu, chaque rendez-vous apparaît comme « Rendez-vous santé ».":
        "Without the title and place, each appointment shows as \u201cHealth "
        "appointment\u201d.",
    "avec titre et lieu": "with title and place",
    "sans détail": "without detail",
    "créé le": "created on",
    "Adresse d'abonnement": "Subscription address",
    "Rendez-vous envoyés par votre organisation": "Appointments your organisation sent",
    "Profil médical": "Medical profile",
    "Allergies et intolérances": "Allergies and intolerances",
    "Antécédents médicaux et chirurgicaux": "Medical and surgical history",
    "Traitements": "Treatments",
    "Vaccinations": "Vaccinations",
    "Mesures de santé": "Health measures",
    "Groupe sanguin": "Blood group",
    "Personnes à prévenir": "Persons to warn",
    "Directives anticipées": "Advance directives",
    "Poids": "Weight", "Taille": "Height", "Tension systolique": "Systolic pressure",
    "Tension diastolique": "Diastolic pressure", "Glycémie": "Blood glucose",
    "Température": "Temperature",
    "Mesure": "Measure",
    "Valeur": "Value",
    "Modifier": "Edit",
    "Intitulé": "Title",
    "Précisions": "Details",
    "Non renseigné.": "Not filled in.",
    "par": "by",
    "vous": "you",
    "un professionnel": "a professional",
    "saisi par la patiente dans son espace": "entered by the patient in her space",
    "saisi par un professionnel en charge (webmail)": "entered by a professional in care "
                                                      "(webmail)",
    "Télécharger la synthèse (PDF)": "Download the synthesis (PDF)",
    "Ajouté.": "Added.",
    "Supprimé.": "Deleted.",
    "Déposer la synthèse dans vos documents (Espace personnel) pour la partager avec les "
    "professionnels qui vous suivent.": "Put the synthesis in your documents (personal "
                                        "space) to share it with the professionals caring "
                                        "for you.",
    "Partager la synthèse dans mes documents": "Share the synthesis in my documents",
    "Les informations utiles en urgence sont en premier.": "What matters in an emergency "
                                                           "comes first.",
    "Vous pouvez ajouter des éléments dans les sections ouvertes à votre profession ; vous "
    "ne supprimez pas ceux de la patiente.": "You may add items in the sections open to "
                                             "your profession; you do not delete the "
                                             "patient's.",
    "Vue d'urgence": "Emergency view",
    "Accès en urgence (bris de glace) : seules les informations d'urgence sont affichées ; "
    "la patiente en est informée.": "Emergency access (break-glass): only the emergency "
                                    "information is shown; the patient is told.",
    "Le reste du profil": "The rest of the profile",
    "Cette patiente n'est pas suivie par vous. En urgence, indiquez le motif : l'accès est "
    "tracé et la patiente en est informée.": "This patient is not in your care. In an "
                                             "emergency, state the reason: the access is "
                                             "logged and the patient is told.",
}

# audit action → (French for others, French for oneself, English for others, English for
# oneself), as mss.webmail.trace_text reads them
TRACE_SENTENCES: dict[str, tuple[str, str, str, str]] = {
    "agenda.appointment_created": (
        "{who} a ajouté un rendez-vous à votre agenda.", "Vous avez ajouté un événement "
        "à votre agenda.", "{who} added an appointment to your agenda.",
        "You added an event to your agenda."),
    "agenda.appointment_updated": (
        "{who} a modifié un rendez-vous de votre agenda.", "Vous avez modifié un "
        "événement de votre agenda.", "{who} changed an appointment in your agenda.",
        "You changed an event in your agenda."),
    "agenda.appointment_cancelled": (
        "{who} a annulé un rendez-vous de votre agenda.", "Vous avez annulé un événement.",
        "{who} cancelled an appointment in your agenda.", "You cancelled an event."),
    "agenda.appointment_deleted": (
        "{who} a supprimé un événement de votre agenda.", "Vous avez supprimé un "
        "événement de votre agenda.", "{who} deleted an event from your agenda.",
        "You deleted an event from your agenda."),
    "agenda.calendar_ignored": (
        "Un rendez-vous envoyé par {who} n'a pas été ajouté à votre agenda.",
        "Un rendez-vous n'a pas été ajouté à votre agenda.",
        "An appointment sent by {who} was not added to your agenda.",
        "An appointment was not added to your agenda."),
    "agenda.read": ("{who} a consulté votre agenda.", "Vous avez consulté votre agenda.",
                    "{who} read your agenda.", "You read your agenda."),
    "agenda.settings_changed": (
        "{who} a changé vos rappels.", "Vous avez changé vos rappels.",
        "{who} changed your reminders.", "You changed your reminders."),
    "agenda.reminder_queued": (
        "Un rappel vous a été envoyé.", "Un rappel vous a été envoyé.",
        "A reminder was sent to you.", "A reminder was sent to you."),
    "agenda.feed_created": (
        "{who} a créé une adresse d'abonnement à votre agenda.",
        "Vous avez créé une adresse d'abonnement à votre agenda.",
        "{who} created a subscription address to your agenda.",
        "You created a subscription address to your agenda."),
    "agenda.feed_revoked": (
        "{who} a révoqué une adresse d'abonnement.", "Vous avez révoqué une adresse "
        "d'abonnement.", "{who} revoked a subscription address.",
        "You revoked a subscription address."),
    "agenda.feed_read": (
        "Votre agenda a été lu par une application calendrier abonnée.",
        "Votre agenda a été lu par une application calendrier abonnée.",
        "Your agenda was read by a subscribed calendar app.",
        "Your agenda was read by a subscribed calendar app."),
    "profile.item_added": (
        "{who} a ajouté un élément à votre profil médical.", "Vous avez ajouté un élément "
        "à votre profil médical.", "{who} added an item to your medical profile.",
        "You added an item to your medical profile."),
    "profile.item_changed": (
        "{who} a modifié un élément de votre profil médical.", "Vous avez modifié un "
        "élément de votre profil médical.", "{who} changed an item of your medical profile.",
        "You changed an item of your medical profile."),
    "profile.item_deleted": (
        "{who} a supprimé un élément de votre profil médical.", "Vous avez supprimé un "
        "élément de votre profil médical.", "{who} deleted an item of your medical profile.",
        "You deleted an item of your medical profile."),
    "profile.read": (
        "{who} a consulté votre profil médical.", "Vous avez consulté votre profil médical.",
        "{who} read your medical profile.", "You read your medical profile."),
    "profile.erased": (
        "Votre profil médical a été effacé.", "Votre profil médical a été effacé.",
        "Your medical profile was erased.", "Your medical profile was erased."),
}

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
    "Rendez-vous envoyés par votre organisation": "Appointments your organisation sent",
}

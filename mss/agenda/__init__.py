"""The patient's health agenda: appointments that professionals send as iCalendar
(convocations, reminders) and that applications post through the HTTP API."""

"""The patient's medical profile: allergies, history, treatments, vaccinations, measures,
blood group, persons to warn, advance directives; its emergency view, plots and PDF
synthesis (docs/medical-profile.md)."""

"""Subjects: CRM API, import, rectification, suppression, retention, preferences, the subject export."""

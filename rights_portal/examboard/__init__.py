"""Exam boards: objection decisions with sign-off, alternative exams and human review of flags."""

"""Exams: programmes, exam boards, exams, proctoring tools and the recordings they produce."""

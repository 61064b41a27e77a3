"""The Open Education API (OOAPI v5) connector: programmes, exams and enrolments from the SIS."""

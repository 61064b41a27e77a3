"""Media (R27): automatic redaction of bystanders' faces in recordings and screenshots."""

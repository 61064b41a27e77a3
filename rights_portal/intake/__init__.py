"""Intake: requests that reached the institution outside the portal, registered by staff (R1)."""

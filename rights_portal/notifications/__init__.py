"""Notifications: the transactional outbox and e-mail delivery."""

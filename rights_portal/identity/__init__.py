"""Identity on reasonable doubt (R22): the case operations of :mod:`.services`."""

"""The portal for students (and, later, guardians): file requests and follow them."""

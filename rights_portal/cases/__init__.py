"""Cases: the rights request, its workflow (states and allowed transitions) and its deadlines."""

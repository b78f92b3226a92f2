"""`visio admission`: the rules at admission, as generated policies and as the validating webhook."""

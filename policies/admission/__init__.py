"""The rules at admission: the ValidatingAdmissionPolicies the API server runs itself, and the decision
of the validating webhook that runs the engine for what CEL cannot decide."""

"""Sovereignty policy-as-code: the rule engine and the Pulumi CrossGuard pack that drives it."""

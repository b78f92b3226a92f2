"""The rule engine every front end shares (CrossGuard pack, plan, audit, scan, drift)."""

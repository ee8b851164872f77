"""A subject's chronology: agency records fed from subject-events, and its review-grade report from the ledger."""

"""Recommendations: models trained from viewing activity and the personalised rows."""

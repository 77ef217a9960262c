"""Quality inspection: sampling, scoring forms, evaluations, reports (issue 5)."""

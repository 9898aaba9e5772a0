"""Terminal inspections: versioned templates, visits, answers, scores."""

"""What the evaluate stage measures: classification, geometry, logit lens, dose curve, scenarios, deflection."""

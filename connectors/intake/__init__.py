"""connectors.intake.submit"""

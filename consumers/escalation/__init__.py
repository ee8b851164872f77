"""consumers.escalation.runner"""

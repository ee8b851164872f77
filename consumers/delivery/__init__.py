"""consumers.delivery"""

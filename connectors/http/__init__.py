"""connectors.http"""

"""connectors/mappings"""

"""connectors.dead_letters.replay"""

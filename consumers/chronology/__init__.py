"""consumers.chronology.report"""

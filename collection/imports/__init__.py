"""Portfolio import: reading the file (reading, pure), jobs with a preview, loading, re-imports
under agreements.
"""

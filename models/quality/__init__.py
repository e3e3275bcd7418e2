"""Service quality (服务质量): inspections, fines, rectifications, assessments, best staff and the red/black list."""

"""Service quality (服务质量): inspections, fines, rectifications, assessments, training and the plan."""

"""Service quality (服务质量): the pages of inspections, assessments, training and the plan."""

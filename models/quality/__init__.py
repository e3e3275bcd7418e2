"""Service quality (服务质量): checklist, inspections, fines, bonus fund, rectifications, assessments, training, plan."""

"""Quality (服务质量): the blueprints of the area."""

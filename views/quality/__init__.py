"""Service quality (服务质量) pages: each part of the area has its own module and blueprint."""

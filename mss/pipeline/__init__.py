"""mss.pipeline"""

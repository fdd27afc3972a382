"""mss.policy"""

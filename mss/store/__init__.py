"""mss.store"""

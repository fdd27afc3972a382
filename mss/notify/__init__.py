"""mss.notify"""

"""mss.vault"""

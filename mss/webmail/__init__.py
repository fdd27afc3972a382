"""mss.webmail"""

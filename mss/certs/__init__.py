"""mss.certs"""

"""mss.smtp"""

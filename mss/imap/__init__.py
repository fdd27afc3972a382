"""mss.imap"""

"""mss.directory"""

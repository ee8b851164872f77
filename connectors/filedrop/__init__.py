"""connectors.filedrop.watcher"""

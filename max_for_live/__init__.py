"""The Live device data package: the Max for Live device (jasco-bridge.amxd, unfrozen), the one
script it loads (jasco.js), the patcher and the sources they are generated from (make_patcher.py).
`jasco-bridge device build|install` reads the device files from here (importlib.resources).
"""

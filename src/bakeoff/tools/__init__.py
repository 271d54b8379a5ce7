"""Tool adapters: one folder per tool, holding tool.toml and one module per stage it serves.

An adapter module is the only code that imports its tool, and it runs only inside that tool's env.
"""
